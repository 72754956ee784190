//! Unordered datagrams: send keys vs noise.json, and sealing/opening cross-checked with
//! @hyperswarm/secret-stream's own `_boxMessage` / `_onmessage` (node child process).

use std::process::Command;

use hyperdht_secret_stream::datagram::{send_key, Datagrams, OVERHEAD};
use hyperdht_secret_stream::HandshakeResult;
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn result(initiator: bool, hash: [u8; 64]) -> HandshakeResult {
    HandshakeResult {
        is_initiator: initiator,
        public_key: [0; 32],
        remote_public_key: [0; 32],
        hash,
        tx: [0; 32],
        rx: [0; 32],
        holepunch_secret: None,
    }
}

fn ik_hash() -> [u8; 64] {
    let v = load("noise.json");
    hex::decode(v["ik"]["handshake_hash"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn send_keys_match_js() {
    let v = load("noise.json");
    let ss = &v["ik"]["secret_stream"];
    let hash = ik_hash();
    assert_eq!(
        hex::encode(send_key(&hash, true)),
        ss["initiator_send_key_for_udp_messages"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(send_key(&hash, false)),
        ss["responder_send_key_for_udp_messages"].as_str().unwrap()
    );
}

#[test]
fn roundtrip_tamper_and_counter_wrap() {
    let hash = ik_hash();
    let mut a = Datagrams::new(&result(true, hash));
    let b = Datagrams::new(&result(false, hash));
    let d = a.seal(b"hi there").unwrap();
    assert_eq!(d.len(), OVERHEAD + 8);
    assert_eq!(b.open(&d).unwrap(), b"hi there");
    assert!(a.open(&d).is_none(), "own-role key does not open");
    let mut t = d.clone();
    t[30] ^= 1;
    assert!(b.open(&t).is_none());
    assert!(b.open(&d[..OVERHEAD - 1]).is_none());
    assert!(b.open(&[]).is_none());
    assert_eq!(b.open(&a.seal(b"").unwrap()).unwrap(), b"");
    // the counter wraps through u64::MAX without complaint (only a return to the start is fatal)
    let mut e = Datagrams::with_counter(&result(true, hash), (u64::MAX - 1).to_le_bytes());
    let (x, y) = (e.seal(b"x").unwrap(), e.seal(b"y").unwrap());
    assert_eq!(x[..8], u64::MAX.to_le_bytes());
    assert_eq!(y[..8], [0u8; 8]);
    assert_eq!(b.open(&y).unwrap(), b"y");
}

#[test]
fn matches_js_box_and_open() {
    let hash = ik_hash();
    let counter = 0x0102_0304_0506_07ffu64.to_le_bytes();
    let msg = b"unordered-1";
    // Rust initiator seals with the same counter; JS initiator must produce the same bytes
    let mut ours = Datagrams::with_counter(&result(true, hash), counter);
    let sealed = ours.seal(msg).unwrap();
    // the JS responder opens a Rust-initiator datagram
    let mut peer = Datagrams::with_counter(&result(true, hash), [7; 8]);
    let from_rust = peer.seal(b"from rust").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/datagram.js");
    let run = |init: &str, from: &[u8]| -> Value {
        let out = Command::new("node")
            .args([
                script,
                &hex::encode(hash),
                init,
                &hex::encode(counter),
                &hex::encode(msg),
                &hex::encode(from),
            ])
            .output()
            .expect("node is required");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let js_init = run("1", &[0u8; 4]);
    assert_eq!(js_init["sealed"].as_str().unwrap(), hex::encode(&sealed));
    let js_resp = run("0", &from_rust);
    assert_eq!(
        js_resp["opened"].as_str().unwrap(),
        hex::encode(b"from rust")
    );
    // what the JS responder sealed (responder send key) opens on our initiator
    let js_sealed = hex::decode(js_resp["sealed"].as_str().unwrap()).unwrap();
    assert_eq!(ours.open(&js_sealed).unwrap(), msg);
}
