//! Unordered encrypted datagrams (`@hyperswarm/secret-stream index.js: _setupSecretSend,
//! _boxMessage, _onmessage`), carried in UDX `MESSAGE` packets:
//! `counter(8) ‖ secretbox_easy(M)` with nonce `counter ‖ 16 zero bytes` and the sender role's
//! send key `BLAKE2b-256(NS_role ‖ NS_SEND; key = handshakeHash)`. No ordering, no replay check.

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;

use crate::handshake::HandshakeResult;
use crate::SecretStreamError;

/// Counter plus MAC: the smallest valid datagram.
pub const OVERHEAD: usize = 8 + 16;

/// `crypto_generichash_batch(out, [NS_role, NS_SEND], handshakeHash)`.
pub fn send_key(hash: &[u8; 64], initiator: bool) -> [u8; 32] {
    use blake2::digest::consts::U32;
    use blake2::digest::Mac;
    let ns = hyperdht_crypto::namespace("hyperswarm/secret-stream", &[0, 1, 2]);
    let mut m = <blake2::Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(hash)
        .expect("64-byte key");
    m.update(&ns[if initiator { 0 } else { 1 }]);
    m.update(&ns[2]);
    m.finalize().into_bytes().into()
}

fn nonce(counter: &[u8; 8]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..8].copy_from_slice(counter);
    n
}

/// Both directions' datagram state of one stream.
pub struct Datagrams {
    seal: XSalsa20Poly1305,
    open: XSalsa20Poly1305,
    counter: [u8; 8],
    initial: [u8; 8],
}

impl Datagrams {
    /// With a random initial counter, as JS does.
    pub fn new(hs: &HandshakeResult) -> Self {
        let mut c = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut c);
        Self::with_counter(hs, c)
    }

    /// With a chosen initial counter (tests).
    pub fn with_counter(hs: &HandshakeResult, counter: [u8; 8]) -> Self {
        let tx = send_key(&hs.hash, hs.is_initiator);
        let rx = send_key(&hs.hash, !hs.is_initiator);
        Datagrams {
            seal: XSalsa20Poly1305::new(&tx.into()),
            open: XSalsa20Poly1305::new(&rx.into()),
            counter,
            initial: counter,
        }
    }

    /// `_boxMessage`: increments the counter (little-endian), then seals. Fails once the
    /// counter wraps back to its start (`udp send nonce exchausted`); the stream must then be
    /// destroyed.
    pub fn seal(&mut self, m: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        let c = u64::from_le_bytes(self.counter).wrapping_add(1);
        self.counter = c.to_le_bytes();
        if self.counter == self.initial {
            return Err(SecretStreamError::NonceExhausted);
        }
        let boxed = self
            .seal
            .encrypt(&nonce(&self.counter).into(), m)
            .map_err(|_| SecretStreamError::MessageTooLarge)?;
        let mut out = Vec::with_capacity(8 + boxed.len());
        out.extend_from_slice(&self.counter);
        out.extend_from_slice(&boxed);
        Ok(out)
    }

    /// `_onmessage`: `None` for anything too short or failing the MAC (dropped silently).
    pub fn open(&self, d: &[u8]) -> Option<Vec<u8>> {
        if d.len() < OVERHEAD {
            return None;
        }
        let counter: [u8; 8] = d.get(..8)?.try_into().ok()?;
        self.open.decrypt(&nonce(&counter).into(), d.get(8..)?).ok()
    }
}
