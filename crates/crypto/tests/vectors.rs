//! Golden tests from tests/data/crypto.json (copied from shared/protocol/vectors, produced by the real JS).
use hyperdht_crypto::{hash, hash_batch, ns::Namespace, verify, KeyPair};
use serde_json::Value;

fn vectors() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crypto.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn blake2b() {
    let v = vectors();
    for c in v["blake2b256"].as_array().unwrap() {
        assert_eq!(hash(&h(&c["input_hex"])).to_vec(), h(&c["blake2b256"]));
    }
    let b = &v["generichash_batch"];
    let parts: Vec<Vec<u8>> = b["parts_hex"].as_array().unwrap().iter().map(h).collect();
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(hash_batch(&refs).to_vec(), h(&b["output"]));
}

#[test]
fn key_pairs_and_signatures() {
    let v = vectors();
    for c in v["keyPairs"].as_array().unwrap() {
        let kp = KeyPair::from_seed(&h(&c["seed"]).try_into().unwrap());
        assert_eq!(kp.public_key.to_vec(), h(&c["publicKey"]));
        assert_eq!(kp.secret_key.to_vec(), h(&c["secretKey"]));
        assert_eq!(hash(&kp.public_key).to_vec(), h(&c["hashOfPublicKey"]));
        assert_eq!(KeyPair::from_secret_key(&kp.secret_key).unwrap(), kp);
    }
    let s = &v["ed25519_detached"];
    let kp = KeyPair::from_secret_key(&h(&s["secretKey"]).try_into().unwrap()).unwrap();
    let sig = kp.sign(&h(&s["message_hex"]));
    assert_eq!(sig.to_vec(), h(&s["signature"]));
    assert!(verify(&h(&s["message_hex"]), &sig, &kp.public_key));
    let mut bad = sig;
    bad[3] ^= 1;
    assert!(!verify(&h(&s["message_hex"]), &bad, &kp.public_key));
    assert!(!verify(b"other", &sig, &kp.public_key));
    // small-order / invalid public keys are rejected, never panic
    assert!(!verify(b"x", &sig, &[0u8; 32]));
    assert!(!verify(b"x", &sig, &[0xffu8; 32]));
}

#[test]
fn namespaces() {
    let v = vectors();
    let vals = &v["namespaces"]["values"];
    for (name, ns) in [
        ("ANNOUNCE", Namespace::Announce),
        ("UNANNOUNCE", Namespace::Unannounce),
        ("MUTABLE_PUT", Namespace::MutablePut),
        ("PEER_HANDSHAKE", Namespace::PeerHandshake),
        ("PEER_HOLEPUNCH", Namespace::PeerHolepunch),
        ("PLUGIN", Namespace::Plugin),
    ] {
        assert_eq!(ns.value().to_vec(), h(&vals[name]["hex"]), "{name}");
        assert_eq!(
            ns.command() as u64,
            vals[name]["command_byte"].as_u64().unwrap()
        );
    }
}
