//! Helpers for non-custodial signing hooks (`signAnnounce`, `signUnannounce`, `signMutable`,
//! `keyPair.sign`): JS computes signatures itself, so it needs the exact signable bytes and
//! encoders for the values it then sends (hyperdht lib/persistent.js, lib/messages.js).

use std::net::SocketAddrV4;

use hyperdht_core::messages::{Announce, MutablePutRequest, Peer};
use hyperdht_core::signing::{announce_signable, mutable_message};
use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::dht::parse_addr;

fn key32(b: &[u8], what: &str) -> Result<[u8; 32]> {
    b.try_into()
        .map_err(|_| Error::new(Status::InvalidArg, format!("{what} must be 32 bytes")))
}

fn peer(public_key: &[u8], relays: &[String]) -> Result<Peer> {
    Ok(Peer {
        public_key: key32(public_key, "publicKey")?,
        relay_addresses: relays
            .iter()
            .map(|s| parse_addr(s))
            .collect::<Result<Vec<SocketAddrV4>>>()?,
    })
}

/// `annSignable(target, token, id, ann, NS.ANNOUNCE | NS.UNANNOUNCE)`: the 64-byte message.
#[napi(catch_unwind)]
pub fn ann_signable(
    target: &[u8],
    token: &[u8],
    node_id: &[u8],
    public_key: &[u8],
    relays: Vec<String>,
    unannounce: bool,
) -> Result<Buffer> {
    let ns = if unannounce {
        ns::unannounce()
    } else {
        ns::announce()
    };
    let p = peer(public_key, &relays)?;
    let m = announce_signable(
        ns,
        &key32(target, "target")?,
        &key32(node_id, "id")?,
        &key32(token, "token")?,
        &p,
        None,
    );
    Ok(m.to_vec().into())
}

/// Encodes an `announce` message (ANNOUNCE / UNANNOUNCE value).
#[napi(catch_unwind)]
pub fn encode_announce(
    public_key: &[u8],
    relays: Vec<String>,
    signature: &[u8],
    bump: f64,
) -> Result<Buffer> {
    let sig: [u8; 64] = signature
        .try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "signature must be 64 bytes"))?;
    let ann = Announce {
        peer: Some(peer(public_key, &relays)?),
        refresh: None,
        signature: Some(sig),
        bump: if bump.is_finite() && bump > 0.0 {
            bump as u64
        } else {
            0
        },
    };
    Ok(ann.to_bytes().into())
}

/// `NS.MUTABLE_PUT ‖ hash(mutableSignable{seq, value})`.
#[napi(catch_unwind)]
pub fn mutable_signable(seq: f64, value: &[u8]) -> Buffer {
    mutable_message(seq.max(0.0) as u64, value).to_vec().into()
}

/// Encodes a `mutablePutRequest`.
#[napi(catch_unwind)]
pub fn encode_mutable_put(
    public_key: &[u8],
    seq: f64,
    value: &[u8],
    signature: &[u8],
) -> Result<Buffer> {
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "signature must be 64 bytes"))?;
    let m = MutablePutRequest {
        public_key: key32(public_key, "publicKey")?,
        seq: seq.max(0.0) as u64,
        value: value.to_vec(),
        signature,
    };
    Ok(m.to_bytes().into())
}

/// Detached Ed25519 signature with a 64-byte libsodium secret key (`crypto_sign_detached`).
#[napi(catch_unwind)]
pub fn sign(message: &[u8], secret_key: &[u8]) -> Result<Buffer> {
    let sk: [u8; 64] = secret_key
        .try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "secretKey must be 64 bytes"))?;
    let kp = hyperdht_crypto::KeyPair::from_secret_key(&sk)
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    Ok(kp.sign(message).to_vec().into())
}
