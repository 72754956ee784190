//! Ed25519-point Diffie-Hellman (`noise-curve-ed`): the clamped Ed25519 signing scalar times the
//! remote Edwards point, output as a compressed Edwards Y — `crypto_scalarmult_ed25519_noclamp`.

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use crate::SecretStreamError;

/// An Ed25519 key pair in libsodium layout (secret = seed ‖ public).
#[derive(Clone)]
pub struct DhKeyPair {
    pub public_key: [u8; 32],
    pub secret_key: [u8; 64],
}

impl DhKeyPair {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let sk = ed25519_dalek::SigningKey::from_bytes(seed);
        DhKeyPair {
            public_key: sk.verifying_key().to_bytes(),
            secret_key: sk.to_keypair_bytes(),
        }
    }

    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self::from_seed(&seed)
    }

    fn scalar(&self) -> Scalar {
        let d = Sha512::digest(&self.secret_key[..32]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&d[..32]);
        s[0] &= 248;
        s[31] &= 127;
        s[31] |= 64;
        Scalar::from_bytes_mod_order(s)
    }
}

/// `DH(local, remote)`; rejects what libsodium rejects.
pub fn dh(local: &DhKeyPair, remote: &[u8; 32]) -> Result<[u8; 32], SecretStreamError> {
    let c = CompressedEdwardsY(*remote);
    let p = c.decompress().ok_or(SecretStreamError::InvalidPublicKey)?;
    if p.compress().to_bytes() != *remote || p.is_small_order() || !p.is_torsion_free() {
        return Err(SecretStreamError::InvalidPublicKey);
    }
    let out = p * local.scalar();
    if out.is_identity() {
        return Err(SecretStreamError::InvalidPublicKey);
    }
    Ok(out.compress().to_bytes())
}

trait IsIdentity {
    fn is_identity(&self) -> bool;
}

impl IsIdentity for curve25519_dalek::edwards::EdwardsPoint {
    fn is_identity(&self) -> bool {
        curve25519_dalek::traits::IsIdentity::is_identity(self)
    }
}
