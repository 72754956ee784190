//! libsodium `crypto_secretstream_xchacha20poly1305` (push/pull), written on RustCrypto's
//! HChaCha20, ChaCha20 (IETF) and Poly1305. Message layout: encrypted tag byte ‖ ciphertext ‖
//! 16-byte MAC (ABYTES = 17); 24-byte header; rekey when the 32-bit counter wraps or on TAG_REKEY.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use poly1305::universal_hash::{KeyInit as _, UniversalHash as _};
use poly1305::Poly1305;

use crate::SecretStreamError;

pub const ABYTES: usize = 17;
pub const HEADERBYTES: usize = 24;
pub const TAG_MESSAGE: u8 = 0;
pub const TAG_REKEY: u8 = 2;

/// Messages up to this many bytes are authenticated with the serial Poly1305 (`poly_short`),
/// longer ones with RustCrypto's (AVX2 when available): below it the AVX2 set-up dominates
/// (measured crossover ~3 KiB, see poly_short.rs).
const SHORT_MAC: usize = 3072;

/// Not `Clone`: two copies of a key state would encrypt with the same nonces.
struct State {
    k: [u8; 32],
    /// counter (4 bytes LE) ‖ inonce (8 bytes)
    nonce: [u8; 12],
}

/// ChaCha20 (IETF) under `k`, `nonce`, positioned at block `counter`.
fn cipher_at(k: &[u8; 32], nonce: &[u8; 12], counter: u32) -> ChaCha20 {
    let mut c = ChaCha20::new(k.into(), nonce.into());
    c.seek(64u64 * counter as u64);
    c
}

fn keystream_xor(k: &[u8; 32], nonce: &[u8; 12], counter: u32, buf: &mut [u8]) {
    cipher_at(k, nonce, counter).apply_keystream(buf);
}

/// Messages up to this many bytes take their whole keystream (Poly1305 key block, tag block,
/// message blocks) from one ChaCha20 call of [`SHORT_KS`] bytes instead of three: the AVX2
/// backend computes four blocks per call whatever is asked (the AVX-512 one sixteen for a single
/// block), so three calls cost three times one.
const SHORT_KS_MSG: usize = 128;
const SHORT_KS: usize = 128 + SHORT_KS_MSG;

/// The keystream blocks 0.. of `nonce` under `k`, `SHORT_KS` bytes.
fn keystream_short(k: &[u8; 32], nonce: &[u8; 12]) -> [u8; SHORT_KS] {
    let mut ks = [0u8; SHORT_KS];
    ChaCha20::new(k.into(), nonce.into()).apply_keystream(&mut ks);
    ks
}

/// The one-time Poly1305 key, the keystream-xored tag block (block 1, with `first` as its first
/// byte, the rest zeros) and, for a short message, the keystream of its blocks (2..).
struct Keys {
    poly: [u8; 32],
    block: [u8; 64],
    short: Option<[u8; SHORT_KS]>,
}

impl Keys {
    fn new(s: &State, first: u8, mlen: usize) -> Keys {
        let mut block = [0u8; 64];
        block[0] = first;
        if mlen <= SHORT_KS_MSG {
            let ks = keystream_short(&s.k, &s.nonce);
            for (b, k) in block.iter_mut().zip(&ks[64..128]) {
                *b ^= k;
            }
            let poly = ks[..32].try_into().expect("32 bytes");
            return Keys {
                poly,
                block,
                short: Some(ks),
            };
        }
        // blocks 0 and 1 in one call: a one-block call costs the AVX-512 backend a whole
        // 16-block batch (~4x two blocks)
        let mut ks = [0u8; 128];
        keystream_xor(&s.k, &s.nonce, 0, &mut ks);
        for (b, k) in block.iter_mut().zip(&ks[64..]) {
            *b ^= k;
        }
        Keys {
            poly: ks[..32].try_into().expect("32 bytes"),
            block,
            short: None,
        }
    }

    /// `out` = `input` xor the message keystream (blocks 2..): one pass instead of a copy
    /// and an in-place xor. The lengths are equal.
    fn xor_message_into(&self, s: &State, input: &[u8], out: &mut [u8]) {
        match &self.short {
            Some(ks) => {
                for ((o, i), k) in out.iter_mut().zip(input).zip(&ks[128..]) {
                    *o = i ^ k;
                }
            }
            None => cipher_at(&s.k, &s.nonce, 2).apply_keystream_b2b(input, out),
        }
    }
}

impl State {
    fn init(key: &[u8; 32], header: &[u8; HEADERBYTES]) -> Self {
        let mut input = [0u8; 16];
        input.copy_from_slice(&header[..16]);
        let k = chacha20::hchacha::<chacha20::R20>(key.into(), &input.into());
        let mut nonce = [0u8; 12];
        nonce[0] = 1;
        nonce[4..].copy_from_slice(&header[16..24]);
        State { k: k.into(), nonce }
    }

    fn mac(key: &[u8; 32], block: &[u8; 64], c: &[u8]) -> [u8; 16] {
        // no associated data. libsodium computes the pad after the message as
        // `(0x10 - sizeof block + mlen) & 0xf` (= mlen mod 16), not the AEAD-style pad to a
        // 16-byte boundary; reproduce it exactly. The 64-byte block and the whole 16-byte blocks
        // of `c` go straight in; only the short tail is assembled.
        let key = *key;
        let pad = 0x10usize.wrapping_sub(64).wrapping_add(c.len()) & 0xf;
        if c.len() <= SHORT_MAC {
            // the serial implementation (see poly_short.rs), fed in place
            let mut p = crate::poly_short::Poly::new(&key);
            p.update(block);
            p.update(c);
            let mut tail = [0u8; 15 + 16];
            tail[pad + 8..pad + 16].copy_from_slice(&((64 + c.len()) as u64).to_le_bytes());
            p.update(&tail[..pad + 16]);
            return p.finalize();
        }
        let mut p = Poly1305::new(&key.into());
        p.update_padded(block);
        let full = c.len() / 16 * 16;
        p.update_padded(&c[..full]);
        let mut tail = [0u8; 48];
        let rem = c.len() - full;
        tail[..rem].copy_from_slice(&c[full..]);
        let mut at = rem + pad;
        tail[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
        at += 8;
        tail[at..at + 8].copy_from_slice(&((64 + c.len()) as u64).to_le_bytes());
        at += 8;
        p.compute_unpadded(&tail[..at]).into()
    }

    fn advance(&mut self, mac: &[u8; 16], tag: u8) {
        for (n, m) in self.nonce[4..].iter_mut().zip(mac) {
            *n ^= m;
        }
        let ctr = u32::from_le_bytes(self.nonce[..4].try_into().expect("4 bytes")).wrapping_add(1);
        self.nonce[..4].copy_from_slice(&ctr.to_le_bytes());
        if tag & TAG_REKEY != 0 || ctr == 0 {
            self.rekey();
        }
    }

    fn rekey(&mut self) {
        let mut buf = [0u8; 40];
        buf[..32].copy_from_slice(&self.k);
        buf[32..].copy_from_slice(&self.nonce[4..]);
        keystream_xor(&self.k, &self.nonce, 0, &mut buf);
        self.k.copy_from_slice(&buf[..32]);
        self.nonce[4..].copy_from_slice(&buf[32..]);
        self.nonce[..4].copy_from_slice(&1u32.to_le_bytes());
    }
}

/// Encrypting side (`init_push` / `push`). Deliberately not `Clone` (nonce reuse).
pub struct Push(State);

impl Push {
    pub fn new(key: &[u8; 32]) -> (Self, [u8; HEADERBYTES]) {
        let mut header = [0u8; HEADERBYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut header);
        (Self::with_header(key, &header), header)
    }

    pub fn with_header(key: &[u8; 32], header: &[u8; HEADERBYTES]) -> Self {
        Push(State::init(key, header))
    }

    /// Appends `tag ‖ c ‖ mac` for `m` to `out`.
    pub fn push_into(&mut self, m: &[u8], tag: u8, out: &mut Vec<u8>) {
        let s = &mut self.0;
        let keys = Keys::new(s, tag, m.len());
        let start = out.len();
        out.push(keys.block[0]);
        out.resize(start + 1 + m.len(), 0);
        keys.xor_message_into(s, m, &mut out[start + 1..]);
        let mac = State::mac(&keys.poly, &keys.block, &out[start + 1..]);
        out.extend_from_slice(&mac);
        s.advance(&mac, tag);
    }

    pub fn push(&mut self, m: &[u8], tag: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(m.len() + ABYTES);
        self.push_into(m, tag, &mut out);
        out
    }
}

/// Decrypting side (`init_pull` / `pull`). Not `Clone` either.
pub struct Pull(State);

impl Pull {
    pub fn new(key: &[u8; 32], header: &[u8; HEADERBYTES]) -> Self {
        Pull(State::init(key, header))
    }

    /// Returns `(plaintext, tag)`; the state only advances when the MAC verifies.
    pub fn pull(&mut self, c: &[u8]) -> Result<(Vec<u8>, u8), SecretStreamError> {
        if c.len() < ABYTES {
            return Err(SecretStreamError::InvalidMessage);
        }
        let s = &mut self.0;
        let mlen = c.len() - ABYTES;
        let mut keys = Keys::new(s, c[0], mlen);
        let tag = keys.block[0];
        keys.block[0] = c[0];
        let body = &c[1..1 + mlen];
        let mac = State::mac(&keys.poly, &keys.block, body);
        let got = &c[1 + mlen..];
        // constant-time comparison
        let diff = mac.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(SecretStreamError::Decrypt);
        }
        let mut m = crate::plain_pool::take(mlen);
        keys.xor_message_into(s, body, &mut m);
        s.advance(&mac, tag);
        Ok((m, tag))
    }
}

#[cfg(test)]
mod short_keystream {
    use super::*;

    /// libsodium's push as written there: three keystream calls (poly key at counter 0, tag
    /// block at 1, message from 2).
    fn reference_push(s: &mut State, m: &[u8], tag: u8) -> Vec<u8> {
        let mut poly = [0u8; 64];
        keystream_xor(&s.k, &s.nonce, 0, &mut poly);
        let mut block = [0u8; 64];
        block[0] = tag;
        keystream_xor(&s.k, &s.nonce, 1, &mut block);
        let mut out = vec![block[0]];
        out.extend_from_slice(m);
        keystream_xor(&s.k, &s.nonce, 2, &mut out[1..]);
        let key: [u8; 32] = poly[..32].try_into().unwrap();
        let mac = State::mac(&key, &block, &out[1..]);
        out.extend_from_slice(&mac);
        s.advance(&mac, tag);
        out
    }

    #[test]
    fn one_call_keystream_equals_three_calls_at_every_size_around_the_bound() {
        let key = [9u8; 32];
        let header = [3u8; HEADERBYTES];
        let mut push = Push::with_header(&key, &header);
        let mut reference = State::init(&key, &header);
        let mut pull = Pull::new(&key, &header);
        for len in 0..=SHORT_KS_MSG + 70 {
            let m: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let tag = if len % 50 == 49 {
                TAG_REKEY
            } else {
                TAG_MESSAGE
            };
            let c = push.push(&m, tag);
            assert_eq!(c, reference_push(&mut reference, &m, tag), "length {len}");
            assert_eq!(pull.pull(&c).unwrap(), (m, tag), "length {len}");
        }
    }
}

#[cfg(test)]
mod not_clone {
    use super::{Pull, Push};
    use std::marker::PhantomData;

    // Inherent associated consts win over trait ones only when their bounds hold, so
    // `Probe::<T>::IS_CLONE` is true exactly for `T: Clone`.
    trait Fallback {
        const IS_CLONE: bool = false;
    }
    struct Probe<T>(PhantomData<T>);
    impl<T> Fallback for Probe<T> {}
    #[allow(dead_code)]
    impl<T: Clone> Probe<T> {
        const IS_CLONE: bool = true;
    }

    /// Issue 14 #8: a cloned encryptor would reuse its nonces, so neither side is `Clone`.
    #[test]
    fn key_states_cannot_be_cloned() {
        // checked at compile time: deriving Clone again breaks the test build
        const { assert!(Probe::<u8>::IS_CLONE, "the probe detects Clone") };
        const { assert!(!Probe::<Push>::IS_CLONE) };
        const { assert!(!Probe::<Pull>::IS_CLONE) };
    }
}
