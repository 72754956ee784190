//! Golden vectors: tests/data/hyperdht-records.json (copied from shared/protocol/vectors, from the real JS).
use std::net::SocketAddrV4;

use hyperdht_core::messages::{Announce, LookupReply, MutableGetResponse, MutablePutRequest, Peer};
use hyperdht_core::signing::{sign_announce, sign_mutable, sign_unannounce};
use hyperdht_crypto::KeyPair;
use hyperdht_encoding::Codec;
use serde_json::Value;

fn v() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hyperdht-records.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}
fn h(x: &Value) -> Vec<u8> {
    hex::decode(x.as_str().unwrap()).unwrap()
}
fn a32(x: &Value) -> [u8; 32] {
    h(x).try_into().unwrap()
}
fn peer(p: &Value) -> Peer {
    Peer {
        public_key: a32(&p["publicKey"]["hex"]),
        relay_addresses: p["relayAddresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                SocketAddrV4::new(
                    a["host"].as_str().unwrap().parse().unwrap(),
                    a["port"].as_u64().unwrap() as u16,
                )
            })
            .collect(),
    }
}

#[test]
fn announce_and_unannounce() {
    let v = v();
    let kp =
        KeyPair::from_secret_key(&h(&v["inputs"]["keyPairA"]["secretKey"]).try_into().unwrap())
            .unwrap();
    let target = a32(&v["inputs"]["target"]);
    let node_id = a32(&v["inputs"]["nodeId"]);
    let token = a32(&v["inputs"]["token"]);
    for (list, unann) in [("announce", false), ("unannounce", true)] {
        for c in v[list].as_array().unwrap() {
            if c["peer"]["publicKey"]["hex"] != v["inputs"]["keyPairA"]["publicKey"] {
                continue;
            }
            let p = peer(&c["peer"]);
            assert_eq!(
                hex::encode(p.to_bytes()),
                c["peer_encoding"].as_str().unwrap()
            );
            let sig = if unann {
                sign_unannounce(&kp, &target, &node_id, &token, &p, None)
            } else {
                sign_announce(&kp, &target, &node_id, &token, &p, None)
            };
            assert_eq!(
                hex::encode(sig),
                c["signature"].as_str().unwrap(),
                "{}",
                c["label"]
            );
            let bump = c["bump"].as_u64().unwrap_or(0);
            let enc = Announce {
                peer: Some(p),
                refresh: None,
                signature: Some(sig),
                bump,
            }
            .to_bytes();
            let key = if unann {
                "unannounce_encoding"
            } else {
                "announce_encoding"
            };
            if let Some(e) = c.get(key).or_else(|| c.get("announce_encoding")) {
                assert_eq!(hex::encode(&enc), e.as_str().unwrap());
                assert_eq!(Announce::from_bytes(&enc).unwrap().bump, bump);
            }
        }
    }
    let r = h(&v["refresh_only_announce"]["encoding"]);
    let a = Announce::from_bytes(&r).unwrap();
    assert!(a.peer.is_none() && a.signature.is_none() && a.refresh == Some([0x66; 32]));
    assert_eq!(a.to_bytes(), r);
}

#[test]
fn peers_lookup_and_mutable() {
    let v = v();
    for c in v["peer_record"].as_array().unwrap() {
        assert_eq!(
            hex::encode(peer(&c["value"]).to_bytes()),
            c["hex"].as_str().unwrap()
        );
    }
    for c in v["lookup_reply"].as_array().unwrap() {
        let l = LookupReply::from_bytes(&h(&c["hex"])).unwrap();
        let want: Vec<Peer> = c["decoded"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(peer)
            .collect();
        assert_eq!(l.peers, want);
        assert_eq!(l.bump, c["decoded"]["bump"].as_u64().unwrap());
    }
    let kp =
        KeyPair::from_secret_key(&h(&v["inputs"]["keyPairA"]["secretKey"]).try_into().unwrap())
            .unwrap();
    for c in v["mutable"].as_array().unwrap() {
        if c["publicKey"] != v["inputs"]["keyPairA"]["publicKey"] {
            continue;
        }
        let seq = c["seq"].as_u64().unwrap();
        let value = h(&c["value_hex"]);
        let sig = sign_mutable(&kp, seq, &value);
        assert_eq!(hex::encode(sig), c["signature"].as_str().unwrap());
        let put = MutablePutRequest {
            public_key: kp.public_key,
            seq,
            value: value.clone(),
            signature: sig,
        };
        assert_eq!(
            hex::encode(put.to_bytes()),
            c["mutablePutRequest_encoding"].as_str().unwrap()
        );
        let get = MutableGetResponse {
            seq,
            value,
            signature: sig,
        };
        assert_eq!(
            hex::encode(get.to_bytes()),
            c["mutableGetResponse_encoding"].as_str().unwrap()
        );
    }
}
