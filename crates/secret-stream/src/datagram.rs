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
    /// set once the counter wrapped: every later seal fails too (continuing would reuse nonces)
    exhausted: bool,
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
            exhausted: false,
        }
    }

    /// `_boxMessage`: increments the counter (little-endian), then seals. Fails once the
    /// counter wraps back to its start (`udp send nonce exchausted`); the stream must then be
    /// destroyed.
    pub fn seal(&mut self, m: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        if self.exhausted {
            return Err(SecretStreamError::NonceExhausted);
        }
        let c = u64::from_le_bytes(self.counter).wrapping_add(1);
        self.counter = c.to_le_bytes();
        if self.counter == self.initial {
            self.exhausted = true;
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
        open_with(&self.open, d)
    }

    /// The receiving half alone, for whoever gets the stream's UDX messages (it keeps no state
    /// that changes: receiving has no counter).
    pub fn opener(&self) -> Opener {
        Opener(self.open.clone())
    }
}

/// Opens the peer's datagrams ([`Datagrams::open`]) away from the stream.
#[derive(Clone)]
pub struct Opener(XSalsa20Poly1305);

impl Opener {
    /// `_onmessage`, as [`Datagrams::open`].
    pub fn open(&self, d: &[u8]) -> Option<Vec<u8>> {
        open_with(&self.0, d)
    }
}

fn open_with(c: &XSalsa20Poly1305, d: &[u8]) -> Option<Vec<u8>> {
    if d.len() < OVERHEAD {
        return None;
    }
    let counter: [u8; 8] = d.get(..8)?.try_into().ok()?;
    c.decrypt(&nonce(&counter).into(), d.get(8..)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14 #8: once the counter wrapped back to its start, sealing stays failed; it used to
    /// fail once and then go on with counters already used (nonce reuse).
    #[test]
    fn sealing_stays_failed_after_the_counter_wraps() {
        let key = [7u8; 32];
        let mut d = Datagrams {
            seal: XSalsa20Poly1305::new(&key.into()),
            open: XSalsa20Poly1305::new(&key.into()),
            counter: 3u64.to_le_bytes(),
            initial: 5u64.to_le_bytes(),
            exhausted: false,
        };
        assert!(d.seal(b"a").is_ok()); // counter 4
        for _ in 0..3 {
            assert!(matches!(
                d.seal(b"b"),
                Err(SecretStreamError::NonceExhausted)
            ));
        }
    }
}
