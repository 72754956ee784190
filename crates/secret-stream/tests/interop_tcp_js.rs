//! Rust `SecretStreamIo` over TCP ↔ `@hyperswarm/secret-stream` over a Node TCP socket, on
//! 127.0.0.1: with a pre-made IK handshake (as hyperdht passes `opts.handshake`) and with
//! secret-stream's standalone XX handshake in both roles. Byte-exact both ways, same
//! handshakeHash and keys. Needs `npm install` at the repo root.

mod common;

use std::time::Duration;

use common::{pattern, result, sha_of_pattern, spawn_node};
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, SecretStreamIo};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BYTES: usize = 8 << 20;

/// Sends `BYTES` of pattern `ours`, reads everything until the peer ends; returns (count, sha).
async fn exchange(ss: SecretStreamIo<TcpStream>, seed: u32) -> (usize, String) {
    let mut ss = ss;
    let (mut rd, mut wr) = tokio::io::split(&mut ss);
    let writer = async {
        let mut off = 0;
        while off < BYTES {
            let n = (BYTES - off).min(50_000);
            wr.write_all(&pattern(off, n, seed)).await.expect("write");
            off += n;
        }
        wr.shutdown().await.expect("shutdown");
    };
    let reader = async {
        let mut h = Sha256::new();
        let mut total = 0;
        let mut buf = vec![0u8; 100_000];
        loop {
            let n = rd.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            total += n;
            h.update(&buf[..n]);
        }
        (total, format!("{:x}", h.finalize()))
    };
    let (_, r) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("exchange in time");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn premade_ik_handshake_over_tcp() {
    let client = DhKeyPair::generate();
    let server = DhKeyPair::generate();
    let prologue = hyperdht_crypto::ns::peer_handshake();
    let mut c = Handshake::initiator(client.clone(), server.public_key, prologue).unwrap();
    let mut s = Handshake::responder(server.clone(), prologue).unwrap();
    s.recv(&c.send(b"").unwrap()).unwrap();
    c.recv(&s.send(b"").unwrap()).unwrap();
    let (ours, theirs) = (c.result().unwrap(), s.result().unwrap());
    let hx = |b: &[u8]| hex::encode(b);
    let args = vec![
        "ik".into(),
        "0".into(),
        BYTES.to_string(),
        "77".into(),
        hx(&theirs.tx),
        hx(&theirs.rx),
        hx(&theirs.hash),
        hx(&theirs.public_key),
        hx(&theirs.remote_public_key),
    ];
    let (child, port, lines) = spawn_node("tcp_peer.js", &args);
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let ss = SecretStreamIo::new(tcp, ours.clone());
    assert!(ss.is_initiator());
    let (total, sha) = exchange(ss, 11).await;
    let v = result(child, lines).await;
    assert_eq!(total, BYTES, "JS peer: {v}");
    assert_eq!(sha, sha_of_pattern(BYTES, 77));
    assert_eq!(v["received"].as_u64(), Some(BYTES as u64), "{v}");
    assert_eq!(v["sha256"].as_str().unwrap(), sha_of_pattern(BYTES, 11));
    assert_eq!(v["handshakeHash"].as_str().unwrap(), hx(&ours.hash));
    assert_eq!(v["publicKey"].as_str().unwrap(), hx(&server.public_key));
    assert_eq!(
        v["remotePublicKey"].as_str().unwrap(),
        hx(&client.public_key)
    );
}

async fn standalone_xx(rust_initiator: bool) {
    let ours = DhKeyPair::from_seed(&[0x55; 32]);
    let js_seed = [0x66u8; 32];
    let js_pk = DhKeyPair::from_seed(&js_seed).public_key;
    let args = vec![
        "xx".into(),
        if rust_initiator { "0" } else { "1" }.into(),
        BYTES.to_string(),
        "99".into(),
        hex::encode(js_seed),
    ];
    let (child, port, lines) = spawn_node("tcp_peer.js", &args);
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let ss = tokio::time::timeout(
        Duration::from_secs(20),
        SecretStreamIo::handshake_xx(tcp, rust_initiator, ours.clone()),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    assert_eq!(ss.is_initiator(), rust_initiator);
    assert_eq!(ss.remote_public_key(), &js_pk);
    assert_eq!(ss.public_key(), &ours.public_key);
    let hash = *ss.handshake_hash();
    let (total, sha) = exchange(ss, 12).await;
    let v = result(child, lines).await;
    assert_eq!(total, BYTES, "JS peer: {v}");
    assert_eq!(sha, sha_of_pattern(BYTES, 99));
    assert_eq!(v["received"].as_u64(), Some(BYTES as u64), "{v}");
    assert_eq!(v["sha256"].as_str().unwrap(), sha_of_pattern(BYTES, 12));
    assert_eq!(v["handshakeHash"].as_str().unwrap(), hex::encode(hash));
    assert_eq!(v["publicKey"].as_str().unwrap(), hex::encode(js_pk));
    assert_eq!(
        v["remotePublicKey"].as_str().unwrap(),
        hex::encode(ours.public_key)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_xx_over_tcp_rust_initiator() {
    standalone_xx(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_xx_over_tcp_rust_responder() {
    standalone_xx(false).await;
}
