//! Noise SymmetricState/CipherState with BLAKE2b-512 (`noise-handshake symmetric-state.js`,
//! `cipher.js`, `hkdf.js`, `hmac.js`).

use blake2::{Blake2b512, Digest};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Mac, SimpleHmac};

use crate::SecretStreamError;

pub const HASHLEN: usize = 64;

pub fn hmac(key: &[u8], data: &[&[u8]]) -> [u8; HASHLEN] {
    let mut m = <SimpleHmac<Blake2b512> as Mac>::new_from_slice(key).expect("any key length");
    for d in data {
        m.update(d);
    }
    m.finalize().into_bytes().into()
}

/// Noise HKDF: two 64-byte outputs.
pub fn hkdf(ck: &[u8], ikm: &[u8]) -> ([u8; HASHLEN], [u8; HASHLEN]) {
    let prk = hmac(ck, &[ikm]);
    let out1 = hmac(&prk, &[&[1]]);
    let out2 = hmac(&prk, &[&out1, &[2]]);
    (out1, out2)
}

pub struct SymmetricState {
    pub h: [u8; HASHLEN],
    ck: [u8; HASHLEN],
    k: Option<[u8; 32]>,
    n: u64,
}

impl SymmetricState {
    pub fn new(protocol_name: &str) -> Self {
        let mut h = [0u8; HASHLEN];
        let name = protocol_name.as_bytes();
        if name.len() <= HASHLEN {
            h[..name.len()].copy_from_slice(name);
        } else {
            h = Blake2b512::digest(name).into();
        }
        SymmetricState {
            h,
            ck: h,
            k: None,
            n: 0,
        }
    }

    pub fn mix_hash(&mut self, data: &[u8]) {
        let mut d = Blake2b512::new();
        d.update(self.h);
        d.update(data);
        self.h = d.finalize().into();
    }

    pub fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, temp) = hkdf(&self.ck, ikm);
        self.ck = ck;
        let mut k = [0u8; 32];
        k.copy_from_slice(&temp[..32]);
        self.k = Some(k);
        self.n = 0;
    }

    fn nonce(n: u64) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&n.to_le_bytes());
        nonce
    }

    pub fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let c = match self.k {
            None => plaintext.to_vec(),
            Some(k) => {
                let cipher = ChaCha20Poly1305::new(Key::from_slice(&k));
                let nonce = Self::nonce(self.n);
                self.n += 1;
                cipher
                    .encrypt(
                        Nonce::from_slice(&nonce),
                        Payload {
                            msg: plaintext,
                            aad: &self.h,
                        },
                    )
                    .expect("chacha20poly1305 encrypt cannot fail for in-range lengths")
            }
        };
        self.mix_hash(&c);
        c
    }

    pub fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        let p = match self.k {
            None => ciphertext.to_vec(),
            Some(k) => {
                let cipher = ChaCha20Poly1305::new(Key::from_slice(&k));
                let nonce = Self::nonce(self.n);
                let p = cipher
                    .decrypt(
                        Nonce::from_slice(&nonce),
                        Payload {
                            msg: ciphertext,
                            aad: &self.h,
                        },
                    )
                    .map_err(|_| SecretStreamError::Decrypt)?;
                self.n += 1;
                p
            }
        };
        self.mix_hash(ciphertext);
        Ok(p)
    }

    pub fn has_key(&self) -> bool {
        self.k.is_some()
    }

    /// `Split()`: two 32-byte keys (initiator tx, initiator rx).
    pub fn split(&self) -> ([u8; 32], [u8; 32]) {
        let (a, b) = hkdf(&self.ck, &[]);
        let mut k1 = [0u8; 32];
        let mut k2 = [0u8; 32];
        k1.copy_from_slice(&a[..32]);
        k2.copy_from_slice(&b[..32]);
        (k1, k2)
    }
}
