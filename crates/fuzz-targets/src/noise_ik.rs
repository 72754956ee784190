//! The Noise IK handshake of hyperdht's PEER_HANDSHAKE (`hyperdht lib/noise-wrap.js`) and
//! secret-stream's framed standalone handshake, on the static and ephemeral keys of the IK
//! golden vector. Input: one [`Case`], then its bytes.
//!
//! * `Msg1` / `Msg2`: arbitrary bytes as the initiator's message 1 (to a responder) or as the
//!   responder's message 2 (to an initiator that sent message 1): only the genuine message may
//!   be accepted, a failed handshake stays failed, and nothing yields keys early.
//! * `Tamper1` / `Tamper2`: a genuine exchange carrying input payloads, with one message
//!   altered (a byte flipped, cut short or extended) unless `mask` is zero. The altered message
//!   must be rejected; the genuine one must complete with matching keys and payloads.
//! * `Framed`: bytes fed to a framed standalone responder (XX or IK), in two pieces.

use arbitrary::Arbitrary;
use hyperdht_crypto::ns;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{FramedHandshake, FramedStep, Handshake};

use crate::ops::Ops;

#[derive(Arbitrary, Debug, PartialEq)]
pub enum Case {
    Msg1 {
        len: u16,
    },
    Msg2 {
        len: u16,
    },
    Tamper1 {
        payload: u8,
        pos: u16,
        mask: u8,
        cut: u8,
        extra: u8,
    },
    Tamper2 {
        payload1: u8,
        payload2: u8,
        pos: u16,
        mask: u8,
        cut: u8,
        extra: u8,
    },
    Framed {
        xx: bool,
        cut: u16,
    },
}

pub const CASE_COUNT: u32 = 5;

fn keys() -> [DhKeyPair; 4] {
    [0x11, 0x22, 0x33, 0x44].map(|b| DhKeyPair::from_seed(&[b; 32]))
}

fn initiator(k: &[DhKeyPair; 4]) -> Handshake {
    let mut hs = Handshake::initiator(k[0].clone(), k[1].public_key, ns::peer_handshake())
        .expect("initiator");
    hs.set_ephemeral(k[2].clone());
    hs
}

fn responder(k: &[DhKeyPair; 4]) -> Handshake {
    let mut hs = Handshake::responder(k[1].clone(), ns::peer_handshake()).expect("responder");
    hs.set_ephemeral(k[3].clone());
    hs
}

/// Alters `msg` by flipping byte `pos` with `mask`, cutting `cut` bytes, appending `extra`
/// bytes; returns whether it changed.
fn alter(msg: &mut Vec<u8>, pos: u16, mask: u8, cut: u8, extra: u8) -> bool {
    if mask == 0 {
        return false;
    }
    match mask % 3 {
        0 => {
            let i = usize::from(pos) % msg.len();
            msg[i] ^= mask;
        }
        1 => {
            let n = usize::from(cut).clamp(1, msg.len());
            msg.truncate(msg.len() - n);
        }
        _ => msg.extend(std::iter::repeat_n(extra, usize::from(cut).max(1))),
    }
    true
}

fn check_failed(hs: &mut Handshake) {
    assert!(!hs.is_done());
    assert!(hs.result().is_none());
    assert!(
        hs.recv(&[0; 96]).is_err(),
        "a failed handshake accepted a message"
    );
    assert!(hs.send(&[]).is_err(), "a failed handshake wrote a message");
}

pub fn run(data: &[u8]) {
    let mut ops = Ops::new(data, 1);
    let Some(case) = ops.op::<Case>() else {
        return;
    };
    let k = keys();
    match case {
        Case::Msg1 { len } => {
            let msg = ops.bytes(usize::from(len));
            let mut r = responder(&k);
            match r.recv(msg) {
                Ok(_) => {
                    // only a genuine message 1 from the vector's client opens
                    assert!(r.remote_static() == Some(k[0].public_key));
                    assert!(r.result().is_none());
                    let m2 = r.send(&[]).expect("message 2");
                    assert!(r.is_done());
                    assert!(m2.len() >= 48);
                }
                Err(_) => check_failed(&mut r),
            }
        }
        Case::Msg2 { len } => {
            let msg = ops.bytes(usize::from(len));
            let mut i = initiator(&k);
            i.send(&[]).expect("message 1");
            match i.recv(msg) {
                Ok(_) => {
                    let res = i.result().expect("done");
                    assert_eq!(res.remote_public_key, k[1].public_key);
                }
                Err(_) => check_failed(&mut i),
            }
        }
        Case::Tamper1 {
            payload,
            pos,
            mask,
            cut,
            extra,
        } => {
            let p1 = ops.bytes(usize::from(payload));
            let mut i = initiator(&k);
            let mut r = responder(&k);
            let mut m1 = i.send(p1).expect("message 1");
            let altered = alter(&mut m1, pos, mask, cut, extra);
            match r.recv(&m1) {
                Ok(got) => {
                    assert!(!altered, "an altered message 1 was accepted");
                    assert_eq!(got, p1);
                    let m2 = r.send(b"reply").expect("message 2");
                    assert_eq!(i.recv(&m2).expect("genuine message 2"), b"reply");
                    let (a, b) = (i.result().expect("done"), r.result().expect("done"));
                    assert_eq!((a.tx, a.rx, a.hash), (b.rx, b.tx, b.hash));
                    assert_eq!(b.remote_public_key, k[0].public_key);
                }
                Err(_) => {
                    assert!(altered, "the genuine message 1 was rejected");
                    check_failed(&mut r);
                }
            }
        }
        Case::Tamper2 {
            payload1,
            payload2,
            pos,
            mask,
            cut,
            extra,
        } => {
            let p1 = ops.bytes(usize::from(payload1));
            let p2 = ops.bytes(usize::from(payload2));
            let mut i = initiator(&k);
            let mut r = responder(&k);
            let m1 = i.send(p1).expect("message 1");
            assert_eq!(r.recv(&m1).expect("genuine message 1"), p1);
            let mut m2 = r.send(p2).expect("message 2");
            let altered = alter(&mut m2, pos, mask, cut, extra);
            match i.recv(&m2) {
                Ok(got) => {
                    assert!(!altered, "an altered message 2 was accepted");
                    assert_eq!(got, p2);
                    let (a, b) = (i.result().expect("done"), r.result().expect("done"));
                    assert_eq!((a.tx, a.rx, a.hash), (b.rx, b.tx, b.hash));
                }
                Err(_) => {
                    assert!(altered, "the genuine message 2 was rejected");
                    check_failed(&mut i);
                }
            }
        }
        Case::Framed { xx, cut } => {
            let bytes = ops.bytes(usize::MAX);
            let mut fh = if xx {
                FramedHandshake::xx(false, k[1].clone())
            } else {
                FramedHandshake::ik(false, k[1].clone(), None).expect("responder")
            };
            fh.handshake_mut().set_ephemeral(k[3].clone());
            assert!(fh.start().expect("responder start").is_empty());
            let cut = usize::from(cut).min(bytes.len());
            let mut done = false;
            for part in [&bytes[..cut], &bytes[cut..]] {
                if done {
                    assert!(fh.feed(part).is_err(), "fed after the end");
                    continue;
                }
                match fh.feed(part) {
                    Ok(FramedStep::Continue(w)) => assert!(w.len() <= 3 + 65535),
                    Ok(FramedStep::Done { leftover, .. }) => {
                        assert!(leftover.len() <= bytes.len());
                        done = true;
                    }
                    Err(_) => done = true,
                }
            }
        }
    }
}
