//! Golden tests: vectors-connection/noise.json and secretstream.json (real JS output).
use hyperdht_secret_stream::dh::{dh, DhKeyPair};
use hyperdht_secret_stream::secretstream::Pull;
use hyperdht_secret_stream::stream::stream_id;
use hyperdht_secret_stream::{Handshake, Pattern, SecretStream, StreamEvent};
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}
fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}
fn kp(v: &Value) -> DhKeyPair {
    let k = DhKeyPair::from_seed(&h(&v["seed"]).try_into().unwrap());
    assert_eq!(k.public_key.to_vec(), h(&v["publicKey"]));
    k
}

#[test]
fn ik_matches_js() {
    let v = load("noise.json");
    let ik = &v["ik"];
    let (cs, ss, ce, se) = (
        kp(&ik["client_static"]),
        kp(&ik["server_static"]),
        kp(&ik["client_ephemeral"]),
        kp(&ik["server_ephemeral"]),
    );
    assert_eq!(
        dh(&ce, &ss.public_key).unwrap().to_vec(),
        h(&ik["dh"]["es_client_e_x_server_s"])
    );
    assert_eq!(
        dh(&cs, &ss.public_key).unwrap().to_vec(),
        h(&ik["dh"]["ss_client_s_x_server_s"])
    );
    let prologue = h(&ik["prologue"]);
    let mut client = Handshake::new(
        Pattern::IK,
        true,
        cs.clone(),
        &prologue,
        Some(ss.public_key),
    )
    .unwrap();
    client.set_ephemeral(ce.clone());
    let mut server = Handshake::new(Pattern::IK, false, ss.clone(), &prologue, None).unwrap();
    server.set_ephemeral(se.clone());

    let m1 = client.send(&h(&ik["client_payload_encoded"])).unwrap();
    // JS zero-fills e.pub inside the captured buffer at final(); compare the rest
    assert_eq!(&m1[..32], &ce.public_key);
    assert_eq!(
        hex::encode(&m1[32..]),
        hex::encode(&h(&ik["message1"])[32..])
    );
    assert_eq!(server.recv(&m1).unwrap(), h(&ik["client_payload_encoded"]));
    let m2 = server.send(&h(&ik["server_payload_encoded"])).unwrap();
    assert_eq!(
        hex::encode(&m2[32..]),
        hex::encode(&h(&ik["message2"])[32..])
    );
    assert_eq!(client.recv(&m2).unwrap(), h(&ik["server_payload_encoded"]));

    let a = client.result().unwrap();
    let b = server.result().unwrap();
    assert_eq!(a.hash.to_vec(), h(&ik["handshake_hash"]));
    assert_eq!(b.hash, a.hash);
    assert_eq!(a.tx.to_vec(), h(&ik["initiator_tx"]));
    assert_eq!(a.rx.to_vec(), h(&ik["initiator_rx"]));
    assert_eq!((b.tx, b.rx), (a.rx, a.tx));
    assert_eq!(b.remote_public_key, cs.public_key);
    let ns_holepunch: [u8; 32] = h(&v["namespaces"]["dht_NS"]["PEER_HOLEPUNCH"])
        .try_into()
        .unwrap();
    assert_eq!(
        a.holepunch_secret(&ns_holepunch).to_vec(),
        h(&ik["holepunch_secret"])
    );
    assert_eq!(
        stream_id(&a.hash, true).to_vec(),
        h(&ik["secret_stream"]["initiator_stream_id"])
    );
    assert_eq!(
        stream_id(&a.hash, false).to_vec(),
        h(&ik["secret_stream"]["responder_stream_id"])
    );

    // a tampered message 1 is rejected, never panics
    let mut bad = m1.clone();
    bad[40] ^= 1;
    let mut server2 = Handshake::new(Pattern::IK, false, ss, &prologue, None).unwrap();
    assert!(server2.recv(&bad).is_err());
    assert!(
        server2.recv(&m1).is_err(),
        "a failed handshake stays failed"
    );
}

#[test]
fn xx_matches_js() {
    let v = load("noise.json");
    let xx = &v["xx"];
    let mut i = Handshake::new(Pattern::XX, true, kp(&xx["initiator_static"]), &[], None).unwrap();
    let mut r = Handshake::new(Pattern::XX, false, kp(&xx["responder_static"]), &[], None).unwrap();
    i.set_ephemeral(kp(&xx["initiator_ephemeral"]));
    r.set_ephemeral(kp(&xx["responder_ephemeral"]));
    let m1 = i.send(&[]).unwrap();
    r.recv(&m1).unwrap();
    let m2 = r.send(&[]).unwrap();
    assert_eq!(
        hex::encode(&m2[32..]),
        hex::encode(&h(&xx["message2"])[32..])
    );
    i.recv(&m2).unwrap();
    let m3 = i.send(&[]).unwrap();
    assert_eq!(hex::encode(&m3), hex::encode(h(&xx["message3"])));
    r.recv(&m3).unwrap();
    let a = i.result().unwrap();
    assert_eq!(a.hash.to_vec(), h(&xx["handshake_hash"]));
    assert_eq!(a.tx.to_vec(), h(&xx["initiator_tx"]));
    assert_eq!(r.result().unwrap().remote_public_key, a.public_key);
}

#[test]
fn secretstream_decrypts_js_frames_and_roundtrips() {
    let v = load("secretstream.json");
    let key: [u8; 32] = h(&v["initiator"]["key_tx"]).try_into().unwrap();
    let header: [u8; 24] = h(&v["initiator_header_message"]["secretstream_header"])
        .try_into()
        .unwrap();
    let mut pull = Pull::new(&key, &header);
    for f in v["initiator_frames_decrypted_independently"]
        .as_array()
        .unwrap()
    {
        let (m, tag) = pull.pull(&h(&f["ciphertext"])).unwrap();
        assert_eq!(hex::encode(m), f["plaintext"].as_str().unwrap());
        assert_eq!(tag as u64, f["tag"].as_u64().unwrap());
    }
    // our push reproduces JS bytes for the same header and key
    let mut push = hyperdht_secret_stream::secretstream::Push::with_header(&key, &header);
    for f in v["initiator_frames_decrypted_independently"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            hex::encode(push.push(&h(&f["plaintext"]), 0)),
            f["ciphertext"].as_str().unwrap()
        );
    }
}

#[test]
fn secret_stream_protocol_between_two_rust_sides() {
    let v = load("noise.json");
    let ik = &v["ik"];
    let prologue = h(&ik["prologue"]);
    let (cs, ss) = (kp(&ik["client_static"]), kp(&ik["server_static"]));
    let mut c = Handshake::new(Pattern::IK, true, cs, &prologue, Some(ss.public_key)).unwrap();
    let mut s = Handshake::new(Pattern::IK, false, ss, &prologue, None).unwrap();
    let m1 = c.send(b"").unwrap();
    s.recv(&m1).unwrap();
    let m2 = s.send(b"").unwrap();
    c.recv(&m2).unwrap();
    let (mut a, ha) = SecretStream::new(&c.result().unwrap());
    let (mut b, hb) = SecretStream::new(&s.result().unwrap());
    assert_eq!(b.feed(&ha).unwrap(), vec![StreamEvent::Connected]);
    // frames split at arbitrary points reassemble
    let mut wire = a.encrypt(b"hello").unwrap();
    wire.extend(a.encrypt(&vec![7u8; 100_000]).unwrap());
    let mut got = Vec::new();
    for chunk in wire.chunks(977) {
        for ev in b.feed(chunk).unwrap() {
            if let StreamEvent::Data(d) = ev {
                got.push(d);
            }
        }
    }
    assert_eq!(got, vec![b"hello".to_vec(), vec![7u8; 100_000]]);
    assert_eq!(a.feed(&hb).unwrap(), vec![StreamEvent::Connected]);
    // tampering destroys the stream and delivers nothing
    let mut t = b.encrypt(b"secret").unwrap();
    t[6] ^= 0x40;
    assert!(a.feed(&t).is_err());
    assert!(a.feed(&b.encrypt(b"later").unwrap()).is_err());
    // wrong stream id in the header
    let (mut x, _) = SecretStream::new(&c.result().unwrap());
    let mut wrong = hb.clone();
    wrong[5] ^= 1;
    assert!(x.feed(&wrong).is_err());
}

#[test]
fn random_input_never_panics() {
    let v = load("noise.json");
    let ik = &v["ik"];
    let prologue = h(&ik["prologue"]);
    let mut x: u64 = 0xdeadbeefcafebabe;
    for round in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 200) as usize;
        let data: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
        let mut s = Handshake::new(
            Pattern::IK,
            false,
            kp(&ik["server_static"]),
            &prologue,
            None,
        )
        .unwrap();
        let _ = s.recv(&data);
        let mut c = Handshake::new(
            Pattern::IK,
            true,
            kp(&ik["client_static"]),
            &prologue,
            Some(kp(&ik["server_static"]).public_key),
        )
        .unwrap();
        let _ = c.send(b"");
        let _ = c.recv(&data);
        if round % 10 == 0 {
            let fake = hyperdht_secret_stream::HandshakeResult {
                is_initiator: true,
                public_key: [1; 32],
                remote_public_key: [2; 32],
                hash: [3; 64],
                tx: [4; 32],
                rx: [5; 32],
                holepunch_secret: None,
            };
            let (mut st, _) = SecretStream::new(&fake);
            let _ = st.feed(&data);
        }
    }
}

#[test]
fn dh_rejects_what_libsodium_rejects() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let me = DhKeyPair::from_seed(&[9; 32]);
    let peer = DhKeyPair::from_seed(&[10; 32]);
    assert!(dh(&me, &peer.public_key).is_ok());
    assert_eq!(
        dh(&me, &peer.public_key).unwrap(),
        dh(&peer, &me.public_key).unwrap(),
        "DH agrees"
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order2 = [0xffu8; 32];
    order2[0] = 0xec;
    order2[31] = 0x7f;
    // y = p + 1: a non-canonical encoding of the identity
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    // a valid key plus a torsion component: on the curve, not in the prime-order subgroup
    let p = CompressedEdwardsY(peer.public_key).decompress().unwrap();
    let mixed = (p + EIGHT_TORSION[1]).compress().to_bytes();
    // not on the curve at all (x² has no root for y = 2)
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    for (name, bad) in [
        ("identity", identity),
        ("order 2", order2),
        ("non-canonical", non_canonical),
        ("mixed order", mixed),
        ("off curve", off_curve),
    ] {
        assert!(dh(&me, &bad).is_err(), "{name} must be rejected");
    }
    for t in EIGHT_TORSION {
        assert!(dh(&me, &t.compress().to_bytes()).is_err());
    }
}

/// libsodium's push stream over messages around every ChaCha20 block and batch boundary (1, 4
/// and 16 blocks: the AVX2 and AVX-512 backends' batch sizes), a rekey in the middle: our push
/// gives the same ciphertexts and our pull opens them.
#[test]
fn secretstream_sizes_match_libsodium() {
    use hyperdht_secret_stream::secretstream::Push;
    use sha2::{Digest, Sha256};
    let v = load("secretstream-sizes.json");
    let key: [u8; 32] = h(&v["key"]).try_into().unwrap();
    let header: [u8; 24] = h(&v["header"]).try_into().unwrap();
    let mut push = Push::with_header(&key, &header);
    let mut pull = Pull::new(&key, &header);
    for m in v["messages"].as_array().unwrap() {
        let len = m["len"].as_u64().unwrap() as usize;
        let tag = m["tag"].as_u64().unwrap() as u8;
        let msg: Vec<u8> = (0..len).map(|i| ((i * 7 + len) & 0xff) as u8).collect();
        let c = push.push(&msg, tag);
        assert_eq!(
            hex::encode(Sha256::digest(&c)),
            m["sha256"].as_str().unwrap(),
            "length {len}"
        );
        assert_eq!(pull.pull(&c).unwrap(), (msg, tag), "length {len}");
    }
}
