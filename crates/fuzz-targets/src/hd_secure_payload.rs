//! Encrypted holepunch payloads (`hyperdht lib/secure-payload.js`) under the holepunch secret
//! of the IK golden vector. Input: one mode byte, then
//! * even mode: a received wire (`nonce ‖ secretbox`) to open — nothing forged may open, and
//!   whatever opens must survive sealing again under the same nonce;
//! * odd mode: `nonce(24) ‖ tamper(2) ‖ holepunchPayload plaintext` — a decodable payload is
//!   sealed, must open to the same payload, and must not open once one byte (picked by
//!   `tamper`) is flipped.

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdht_core::messages::HolepunchPayload;
use hyperdht_core::secure_payload::SecurePayload;
use hyperdht_encoding::Codec;

/// `holepunch_secret` of `crates/secret-stream/tests/data/noise.json` (IK vector).
pub const HOLEPUNCH_SECRET: [u8; 32] = [
    0x20, 0x26, 0xda, 0xb8, 0xed, 0x07, 0x32, 0x50, 0x12, 0x26, 0xec, 0x98, 0xd5, 0xc0, 0xfc, 0x54,
    0x46, 0x05, 0x15, 0x5e, 0xa9, 0xc5, 0x98, 0x46, 0x79, 0xb7, 0x13, 0x62, 0x7e, 0x53, 0x4c, 0x29,
];

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let sp = SecurePayload::with_local_secret(&HOLEPUNCH_SECRET, [0x77; 32]);
    if mode & 1 == 0 {
        let Some(p) = sp.decrypt(rest) else {
            return;
        };
        let nonce: [u8; 24] = rest[..24].try_into().expect("opened wires hold a nonce");
        let again = sp.encrypt_with_nonce(&p, &nonce);
        assert_eq!(sp.decrypt(&again), Some(p));
        return;
    }
    if rest.len() < 26 {
        return;
    }
    let (nonce, rest) = rest.split_at(24);
    let (tamper, plain) = rest.split_at(2);
    let nonce: [u8; 24] = nonce.try_into().expect("24 bytes");
    let Ok(p) = HolepunchPayload::from_bytes(plain) else {
        return;
    };
    let wire = sp.encrypt_with_nonce(&p, &nonce);
    assert_eq!(wire.len(), 24 + 16 + p.to_bytes().len());
    assert_eq!(sp.decrypt(&wire).as_ref(), Some(&p));
    let mut bad = wire.clone();
    let i = usize::from(u16::from_le_bytes([tamper[0], tamper[1]])) % bad.len();
    bad[i] ^= 0x01;
    assert_eq!(sp.decrypt(&bad), None, "a flipped byte {i} still opened");
    assert_eq!(sp.decrypt(&wire[..wire.len() - 1]), None);
    // address tokens cover the host only
    let a = SocketAddrV4::new(Ipv4Addr::new(nonce[0], nonce[1], nonce[2], nonce[3]), 1);
    let b = SocketAddrV4::new(*a.ip(), u16::from_le_bytes([nonce[4], nonce[5]]));
    assert_eq!(sp.token(&a), sp.token(&b));
}
