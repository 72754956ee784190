//! Encrypted holepunch payloads (`hyperdht lib/secure-payload.js`): `nonce(24) ‖
//! crypto_secretbox_easy(holepunchPayload)` under the handshake's holepunch secret, and address
//! tokens `BLAKE2b-256(msg = host, key = localSecret)` (the port is not included).

use std::net::SocketAddrV4;

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use hyperdht_encoding::Codec;
use hyperdht_secret_stream::keyed_hash;

use crate::messages::HolepunchPayload;

const NONCE: usize = 24;
const MAC: usize = 16;

/// One side's payload box for one handshake.
pub struct SecurePayload {
    cipher: XSalsa20Poly1305,
    local_secret: [u8; 32],
}

impl SecurePayload {
    /// `new SecurePayload(holepunchSecret)` with a random local secret.
    pub fn new(holepunch_secret: &[u8; 32]) -> Self {
        Self::with_local_secret(holepunch_secret, rand::random())
    }

    /// With a chosen local secret (tests / vectors).
    pub fn with_local_secret(holepunch_secret: &[u8; 32], local_secret: [u8; 32]) -> Self {
        SecurePayload {
            cipher: XSalsa20Poly1305::new(holepunch_secret.into()),
            local_secret,
        }
    }

    /// `encrypt(payload)` with a random nonce.
    pub fn encrypt(&self, payload: &HolepunchPayload) -> Vec<u8> {
        self.encrypt_with_nonce(payload, &rand::random())
    }

    /// `encrypt` with a chosen nonce (vectors).
    pub fn encrypt_with_nonce(&self, payload: &HolepunchPayload, nonce: &[u8; NONCE]) -> Vec<u8> {
        let plain = payload.to_bytes();
        let mut out = Vec::with_capacity(NONCE + MAC + plain.len());
        out.extend_from_slice(nonce);
        // RustCrypto's secretbox puts the tag first, like crypto_secretbox_easy
        match self.cipher.encrypt(nonce.into(), plain.as_slice()) {
            Ok(ct) => out.extend_from_slice(&ct),
            Err(_) => return Vec::new(),
        }
        out
    }

    /// `decrypt(buffer)`: `None` if too short, forged, or not a holepunch payload.
    pub fn decrypt(&self, data: &[u8]) -> Option<HolepunchPayload> {
        if data.len() <= NONCE + MAC {
            return None;
        }
        let (nonce, ct) = data.split_at(NONCE);
        let plain = self.cipher.decrypt(nonce.into(), ct).ok()?;
        HolepunchPayload::from_bytes(&plain).ok()
    }

    /// `token(addr)`: proves to the peer that we saw `addr.host` (port not included).
    pub fn token(&self, addr: &SocketAddrV4) -> [u8; 32] {
        keyed_hash(addr.ip().to_string().as_bytes(), &self.local_secret)
    }
}
