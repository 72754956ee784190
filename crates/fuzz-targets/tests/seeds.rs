//! The harness constants match the golden vectors, so the vector-based seeds reach past the
//! cryptography: the vector wires decrypt under the secret_stream target's keys, and the
//! vector handshake messages complete under the noise_ik target's keys.

use std::path::Path;

use hyperdht_crypto::ns;
use hyperdht_fuzz_targets::secret_stream::{
    HANDSHAKE_HASH, INITIATOR_HEADER, INITIATOR_RX, INITIATOR_TX, RESPONDER_HEADER,
};
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::stream::StreamEvent;
use hyperdht_secret_stream::{
    FramedHandshake, FramedStep, Handshake, HandshakeResult, SecretStream,
};
use serde_json::Value;

fn json(rel: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    serde_json::from_str(&std::fs::read_to_string(p).expect("vector")).expect("json")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex")).expect("hex")
}

#[test]
fn secret_stream_constants_are_the_vectors() {
    let noise = json("crates/secret-stream/tests/data/noise.json");
    assert_eq!(noise["ik"]["handshake_hash"], HANDSHAKE_HASH);
    assert_eq!(noise["ik"]["initiator_tx"], INITIATOR_TX);
    assert_eq!(noise["ik"]["initiator_rx"], INITIATOR_RX);
    let v = json("crates/secret-stream/tests/data/secretstream.json");
    assert_eq!(
        v["initiator_header_message"]["secretstream_header"],
        INITIATOR_HEADER
    );
    let resp_header = h(&v["responder"]["wires"][0]);
    assert_eq!(hex::encode(&resp_header[35..]), RESPONDER_HEADER);
    // the initiator's wires decrypt on the responder side built from them
    let local = HandshakeResult {
        is_initiator: false,
        public_key: [0; 32],
        remote_public_key: [0; 32],
        hash: h(&noise["ik"]["handshake_hash"]).try_into().expect("64"),
        tx: h(&noise["ik"]["initiator_rx"]).try_into().expect("32"),
        rx: h(&noise["ik"]["initiator_tx"]).try_into().expect("32"),
        holepunch_secret: None,
    };
    let (mut s, _) = SecretStream::new(&local);
    let mut got = Vec::new();
    for w in v["initiator"]["wires"].as_array().expect("wires") {
        if let Ok(d) = hex::decode(w.as_str().expect("wire")) {
            got.extend(s.feed(&d).expect("vector wire"));
        }
    }
    assert_eq!(got[0], StreamEvent::Connected);
    let expect: Vec<StreamEvent> = v["received_by_responder"]
        .as_array()
        .expect("received")
        .iter()
        .map(|m| StreamEvent::Data(h(m)))
        .collect();
    assert_eq!(got[1..], expect[..]);
}

#[test]
fn noise_seeds_complete() {
    let v = json("crates/secret-stream/tests/data/noise.json");
    let ik = &v["ik"];
    let k = [0x11u8, 0x22, 0x33, 0x44].map(|b| DhKeyPair::from_seed(&[b; 32]));
    assert_eq!(h(&ik["client_ephemeral"]["publicKey"]), k[2].public_key);
    let mut m1 = h(&ik["client_ephemeral"]["publicKey"]);
    m1.extend(&h(&ik["message1"])[32..]);
    let mut r = Handshake::responder(k[1].clone(), ns::peer_handshake()).expect("responder");
    r.set_ephemeral(k[3].clone());
    assert_eq!(
        r.recv(&m1).expect("genuine"),
        h(&ik["client_payload_encoded"])
    );
    let xx = &v["xx"];
    let mut framed = vec![32, 0, 0];
    framed.extend(h(&xx["initiator_ephemeral"]["publicKey"]));
    framed.extend(h(&xx["message3_framed"]));
    let mut fh = FramedHandshake::xx(false, k[1].clone());
    fh.handshake_mut().set_ephemeral(k[3].clone());
    assert!(matches!(fh.feed(&framed), Ok(FramedStep::Done { .. })));
}
