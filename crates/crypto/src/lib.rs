//! Key pairs, hashes and signatures as hyperdht uses them.
//!
//! Mirrors `hyperdht lib/crypto.js` (hash, createKeyPair), `hypercore-crypto` `namespace` and
//! `hyperdht lib/constants.js` (`NS`). Everything is libsodium-compatible: BLAKE2b with a 32-byte
//! digest (`crypto_generichash`), Ed25519 keys from `crypto_sign_seed_keypair` (secret key =
//! seed ‖ public key) and detached signatures.
#![forbid(unsafe_code)]

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

pub type Blake2b256 = Blake2b<U32>;

/// BLAKE2b-256 of `data` (`DHT.hash`).
pub fn hash(data: &[u8]) -> [u8; 32] {
    Blake2b256::digest(data).into()
}

/// BLAKE2b-256 of the concatenation of `parts` (`crypto_generichash_batch`).
pub fn hash_batch(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// An Ed25519 key pair in libsodium layout.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub public_key: [u8; 32],
    /// seed ‖ public key
    pub secret_key: [u8; 64],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_key", &hex_short(&self.public_key))
            .finish_non_exhaustive()
    }
}

fn hex_short(b: &[u8]) -> String {
    b.iter().take(8).map(|x| format!("{x:02x}")).collect()
}

/// Errors of this layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// A 64-byte secret key whose second half is not the public key of its seed.
    InvalidSecretKey,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptoError::InvalidSecretKey => f.write_str("invalid secret key"),
        }
    }
}

impl std::error::Error for CryptoError {}

impl KeyPair {
    /// `crypto_sign_seed_keypair`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let sk = SigningKey::from_bytes(seed);
        KeyPair {
            public_key: sk.verifying_key().to_bytes(),
            secret_key: sk.to_keypair_bytes(),
        }
    }

    /// `crypto_sign_keypair` (random).
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self::from_seed(&seed)
    }

    /// Imports a libsodium 64-byte secret key, checking it matches its public half.
    pub fn from_secret_key(secret_key: &[u8; 64]) -> Result<Self, CryptoError> {
        let sk = SigningKey::from_keypair_bytes(secret_key)
            .map_err(|_| CryptoError::InvalidSecretKey)?;
        Ok(KeyPair {
            public_key: sk.verifying_key().to_bytes(),
            secret_key: *secret_key,
        })
    }

    pub fn seed(&self) -> [u8; 32] {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.secret_key[..32]);
        s
    }

    /// Detached Ed25519 signature (`crypto_sign_detached`).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        SigningKey::from_bytes(&self.seed())
            .sign(message)
            .to_bytes()
    }
}

/// `crypto_sign_verify_detached`: strict verification (rejects small-order keys/R and
/// non-canonical S like libsodium). Never panics on any input.
pub fn verify(message: &[u8], signature: &[u8; 64], public_key: &[u8; 32]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    if vk.is_weak() {
        return false;
    }
    vk.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// hypercore-crypto `namespace(name, ids)`: `hash(hash(name) ‖ one byte id)` for each id.
pub fn namespace(name: &str, ids: &[u8]) -> Vec<[u8; 32]> {
    let base = hash(name.as_bytes());
    ids.iter().map(|&id| hash_batch(&[&base, &[id]])).collect()
}

/// hyperdht's signing namespaces (`lib/constants.js: NS`).
pub mod ns {
    use std::sync::OnceLock;

    /// The hyperdht commands that have a signing namespace.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Namespace {
        Announce,
        Unannounce,
        MutablePut,
        PeerHandshake,
        PeerHolepunch,
        Plugin,
    }

    impl Namespace {
        /// The command byte the namespace is derived from.
        pub fn command(self) -> u8 {
            match self {
                Namespace::PeerHandshake => 0,
                Namespace::PeerHolepunch => 1,
                Namespace::Announce => 4,
                Namespace::Unannounce => 5,
                Namespace::MutablePut => 6,
                Namespace::Plugin => 10,
            }
        }

        pub fn value(self) -> &'static [u8; 32] {
            static ALL: OnceLock<[[u8; 32]; 11]> = OnceLock::new();
            let all = ALL.get_or_init(|| {
                let ids: Vec<u8> = (0..11).collect();
                let v = super::namespace("hyperswarm/dht", &ids);
                let mut out = [[0u8; 32]; 11];
                out.copy_from_slice(&v);
                out
            });
            &all[self.command() as usize]
        }
    }

    pub fn announce() -> &'static [u8; 32] {
        Namespace::Announce.value()
    }
    pub fn unannounce() -> &'static [u8; 32] {
        Namespace::Unannounce.value()
    }
    pub fn mutable_put() -> &'static [u8; 32] {
        Namespace::MutablePut.value()
    }
    pub fn peer_handshake() -> &'static [u8; 32] {
        Namespace::PeerHandshake.value()
    }
    pub fn peer_holepunch() -> &'static [u8; 32] {
        Namespace::PeerHolepunch.value()
    }
}
