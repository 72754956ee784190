//! Rust secret-stream over a Rust UDX stream ↔ @hyperswarm/secret-stream over udx-native:
//! 64 MiB both ways byte-exact, same handshakeHash and keys on both sides.
//! Needs `npm install` at the repo root.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, Pattern, SecretStreamIo};
use hyperdht_udx::UdxSocket;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pattern(offset: usize, len: usize, seed: u32) -> Vec<u8> {
    let mut b = vec![0u8; len];
    for i in (0..len).step_by(4) {
        let w = (((offset + i) / 4) as u32) ^ seed;
        b[i..i + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

fn sha_of_pattern(bytes: usize, seed: u32) -> String {
    let mut h = Sha256::new();
    let mut off = 0;
    while off < bytes {
        let n = (bytes - off).min(65536);
        h.update(pattern(off, n, seed));
        off += n;
    }
    format!("{:x}", h.finalize())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_stream_over_udx_with_js() {
    let bytes = 64usize << 20;
    // both sides of an IK handshake (what hyperdht's PEER_HANDSHAKE produces)
    let client = DhKeyPair::generate();
    let server = DhKeyPair::generate();
    let prologue = [7u8; 32];
    let mut c = Handshake::new(
        Pattern::IK,
        true,
        client.clone(),
        &prologue,
        Some(server.public_key),
    )
    .unwrap();
    let mut s = Handshake::new(Pattern::IK, false, server.clone(), &prologue, None).unwrap();
    s.recv(&c.send(b"").unwrap()).unwrap();
    c.recv(&s.send(b"").unwrap()).unwrap();
    let ours = c.result().unwrap();
    let theirs = s.result().unwrap();

    let sock = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = sock.local_addr().unwrap().port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/peer.js");
    let mut child = Command::new("node")
        .args([
            script.to_string(),
            port.to_string(),
            "2".into(),
            "1".into(),
            bytes.to_string(),
            "55".into(),
            hex::encode(theirs.tx),
            hex::encode(theirs.rx),
            hex::encode(theirs.hash),
            hex::encode(theirs.public_key),
            hex::encode(theirs.remote_public_key),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is required");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let node_port: u16 = first
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("peer.js: {first}"))
        .parse()
        .unwrap();
    let raw = sock.connect(1, 2, SocketAddr::from(([127, 0, 0, 1], node_port)));
    let mut ss = SecretStreamIo::new(raw, ours.clone());
    assert_eq!(ss.handshake_hash(), &theirs.hash);
    // unordered datagrams (UDX messages; JS has its keys from the start and answers the first
    // one with a datagram of its own, collected after the transfer)
    for i in 0..3 {
        let d = ss
            .seal_message(format!("ping from rust {i}").as_bytes())
            .unwrap();
        assert!(ss.get_ref().send_message(&d));
    }
    let (mut rd, mut wr) = tokio::io::split(&mut ss);
    let writer = async {
        let mut off = 0;
        while off < bytes {
            let n = (bytes - off).min(65536);
            wr.write_all(&pattern(off, n, 33)).await.unwrap();
            off += n;
        }
        wr.shutdown().await.unwrap();
    };
    let reader = async {
        let mut h = Sha256::new();
        let mut total = 0;
        let mut buf = vec![0u8; 128 * 1024];
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
    let (_, (total, sha)) = tokio::time::timeout(Duration::from_secs(240), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("in time");
    assert_eq!(total, bytes);
    assert_eq!(sha, sha_of_pattern(bytes, 55));
    let mut pongs = Vec::new();
    while let Some(m) = ss.get_ref().try_recv_message() {
        pongs.push(ss.open_message(&m).expect("authentic datagram"));
    }
    assert_eq!(pongs, vec![b"pong from js".to_vec()]);
    let result = tokio::task::spawn_blocking(move || {
        lines
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("RESULT ").map(str::to_string))
            .unwrap_or_default()
    })
    .await
    .unwrap();
    let _ = child.wait();
    let v: serde_json::Value =
        serde_json::from_str(&result).unwrap_or_else(|_| panic!("no result: {result}"));
    assert_eq!(v["received"].as_u64(), Some(bytes as u64), "{v}");
    let msgs = v["messages"].as_array().unwrap();
    assert!(!msgs.is_empty(), "JS got none of our datagrams");
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.as_str().unwrap(), format!("ping from rust {i}"));
    }
    assert_eq!(v["sha256"].as_str().unwrap(), sha_of_pattern(bytes, 33));
    assert_eq!(v["handshakeHash"].as_str().unwrap(), hex::encode(ours.hash));
    assert_eq!(
        v["publicKey"].as_str().unwrap(),
        hex::encode(server.public_key)
    );
    assert_eq!(
        v["remotePublicKey"].as_str().unwrap(),
        hex::encode(client.public_key)
    );
}
