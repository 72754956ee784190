//! What gets signed (`hyperdht lib/persistent.js: annSignable, signAnnounce, signUnannounce,
//! signMutable, verifyMutable`).

use hyperdht_crypto::{hash_batch, ns, verify, KeyPair};
use hyperdht_encoding::Codec;

use crate::messages::{mutable_signable, Peer};

/// `NS ‖ hash(target ‖ nodeId ‖ token ‖ encode(peer) ‖ refresh?)`.
pub fn announce_signable(
    ns: &[u8; 32],
    target: &[u8; 32],
    node_id: &[u8; 32],
    token: &[u8; 32],
    peer: &Peer,
    refresh: Option<&[u8; 32]>,
) -> [u8; 64] {
    let peer_bytes = peer.to_bytes();
    let empty: &[u8] = &[];
    let h = hash_batch(&[
        target,
        node_id,
        token,
        &peer_bytes,
        refresh.map_or(empty, |r| r.as_slice()),
    ]);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(ns);
    out[32..].copy_from_slice(&h);
    out
}

pub fn sign_announce(
    kp: &KeyPair,
    target: &[u8; 32],
    node_id: &[u8; 32],
    token: &[u8; 32],
    peer: &Peer,
    refresh: Option<&[u8; 32]>,
) -> [u8; 64] {
    kp.sign(&announce_signable(
        ns::announce(),
        target,
        node_id,
        token,
        peer,
        refresh,
    ))
}

pub fn sign_unannounce(
    kp: &KeyPair,
    target: &[u8; 32],
    node_id: &[u8; 32],
    token: &[u8; 32],
    peer: &Peer,
    refresh: Option<&[u8; 32]>,
) -> [u8; 64] {
    kp.sign(&announce_signable(
        ns::unannounce(),
        target,
        node_id,
        token,
        peer,
        refresh,
    ))
}

/// `NS.MUTABLE_PUT ‖ hash(mutableSignable{seq, value})`.
pub fn mutable_message(seq: u64, value: &[u8]) -> [u8; 64] {
    let h = hyperdht_crypto::hash(&mutable_signable(seq, value));
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(ns::mutable_put());
    out[32..].copy_from_slice(&h);
    out
}

pub fn sign_mutable(kp: &KeyPair, seq: u64, value: &[u8]) -> [u8; 64] {
    kp.sign(&mutable_message(seq, value))
}

pub fn verify_mutable(signature: &[u8; 64], seq: u64, value: &[u8], public_key: &[u8; 32]) -> bool {
    verify(&mutable_message(seq, value), signature, public_key)
}
