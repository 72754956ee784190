//! The standalone framed handshake against the JS XX vector, and `SecretStreamIo` features
//! (XX over an in-memory duplex, keep-alive, receive timeout) between two Rust sides.

use std::time::Duration;

use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{FramedHandshake, FramedStep, SecretStreamIo};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn load(name: &str) -> Value {
    let p = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}
fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}
fn kp(v: &Value) -> DhKeyPair {
    DhKeyPair::from_seed(&h(&v["seed"]).try_into().unwrap())
}

#[test]
fn framed_xx_matches_js_vector() {
    let v = load("noise.json");
    let xx = &v["xx"];
    let mut i = FramedHandshake::xx(true, kp(&xx["initiator_static"]));
    let mut r = FramedHandshake::xx(false, kp(&xx["responder_static"]));
    i.handshake_mut()
        .set_ephemeral(kp(&xx["initiator_ephemeral"]));
    r.handshake_mut()
        .set_ephemeral(kp(&xx["responder_ephemeral"]));
    assert!(r.start().unwrap().is_empty(), "the responder waits");
    let m1 = i.start().unwrap();
    // JS zero-fills the ephemeral key in its recorded buffers; compare prefix and length
    assert_eq!(m1.len(), h(&xx["message1_framed"]).len());
    assert_eq!(m1[..3], h(&xx["message1_framed"])[..3]);
    assert_eq!(&m1[3..], &kp(&xx["initiator_ephemeral"]).public_key);
    // bytes dribbled in one at a time
    let mut m2 = Vec::new();
    for b in &m1 {
        match r.feed(std::slice::from_ref(b)).unwrap() {
            FramedStep::Continue(w) => m2.extend(w),
            FramedStep::Done { .. } => panic!("XX needs three messages"),
        }
    }
    let want2 = h(&xx["message2_framed"]);
    assert_eq!(m2.len(), want2.len());
    assert_eq!(hex::encode(&m2[35..]), hex::encode(&want2[35..]));
    let FramedStep::Done {
        write: m3,
        result: ri,
        leftover,
    } = i.feed(&m2).unwrap()
    else {
        panic!("initiator done after message 2");
    };
    assert!(leftover.is_empty());
    assert_eq!(hex::encode(&m3), hex::encode(h(&xx["message3_framed"])));
    let mut m3_plus = m3.clone();
    m3_plus.extend_from_slice(&[56, 0, 0, 9]);
    let FramedStep::Done {
        write,
        result: rr,
        leftover,
    } = r.feed(&m3_plus).unwrap()
    else {
        panic!("responder done after message 3");
    };
    assert!(write.is_empty());
    assert_eq!(
        leftover,
        vec![56, 0, 0, 9],
        "stream bytes after the handshake"
    );
    assert_eq!(ri.hash.to_vec(), h(&xx["handshake_hash"]));
    assert_eq!(rr.hash, ri.hash);
    assert_eq!(ri.tx.to_vec(), h(&xx["initiator_tx"]));
    assert_eq!(rr.rx, ri.tx);
    assert_eq!(ri.remote_public_key, kp(&xx["responder_static"]).public_key);
    assert_eq!(rr.remote_public_key, kp(&xx["initiator_static"]).public_key);
    assert!(
        r.feed(&[0]).is_err(),
        "a finished handshake takes no more bytes"
    );
}

#[test]
fn framed_handshake_rejects_garbage_without_panicking() {
    // oversized frame
    let mut r = FramedHandshake::xx(false, DhKeyPair::from_seed(&[1; 32]));
    assert!(r.feed(&[0xff, 0xff, 0xff]).is_err());
    // wrong-size message 1, then message 2 garbage on the initiator
    let mut r = FramedHandshake::xx(false, DhKeyPair::from_seed(&[1; 32]));
    assert!(r.feed(&[3, 0, 0, 1, 2, 3]).is_err());
    let mut x: u32 = 0x1234_5678;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = (x % 120) as usize;
        let mut data: Vec<u8> = (0..len).map(|k| (x >> (k % 4 * 8)) as u8).collect();
        if data.len() >= 3 {
            let n = (data.len() - 3) as u32;
            data[..3].copy_from_slice(&n.to_le_bytes()[..3]);
        }
        let mut i = FramedHandshake::xx(true, DhKeyPair::from_seed(&[2; 32]));
        i.start().unwrap();
        let _ = i.feed(&data);
        let mut r = FramedHandshake::xx(false, DhKeyPair::from_seed(&[3; 32]));
        let _ = r.feed(&data);
    }
}

async fn pair() -> (
    SecretStreamIo<tokio::io::DuplexStream>,
    SecretStreamIo<tokio::io::DuplexStream>,
) {
    let (ta, tb) = tokio::io::duplex(64 * 1024);
    let (a, b) = tokio::join!(
        SecretStreamIo::handshake_xx(ta, true, DhKeyPair::generate()),
        SecretStreamIo::handshake_xx(tb, false, DhKeyPair::generate()),
    );
    (a.unwrap(), b.unwrap())
}

#[tokio::test]
async fn xx_over_duplex_roundtrip() {
    let (mut a, mut b) = pair().await;
    assert_eq!(a.handshake_hash(), b.handshake_hash());
    assert_eq!(a.remote_public_key(), b.public_key());
    assert_eq!(b.remote_public_key(), a.public_key());
    assert!(a.is_initiator() && !b.is_initiator());
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let send = data.clone();
    let writer = async move {
        a.write_all(&send).await.unwrap();
        a.shutdown().await.unwrap();
        a
    };
    let reader = async {
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        got
    };
    let (_a, got) = tokio::join!(writer, reader);
    assert_eq!(got, data);
    assert!(b.is_connected());
}

#[tokio::test]
async fn keep_alive_holds_off_the_peer_timeout() {
    let (mut a, mut b) = pair().await;
    a.set_keep_alive(Some(Duration::from_millis(20)));
    assert_eq!(a.keep_alive(), Some(Duration::from_millis(20)));
    b.set_timeout(Some(Duration::from_millis(150)));
    let mut ba = [0u8; 16];
    let mut bb = [0u8; 16];
    // both read for 600 ms: a's keep-alives (empty frames) keep b alive and are never
    // delivered as data
    let (ra, rb) = tokio::join!(
        tokio::time::timeout(Duration::from_millis(600), a.read(&mut ba)),
        tokio::time::timeout(Duration::from_millis(600), b.read(&mut bb)),
    );
    assert!(ra.is_err(), "a got nothing: {ra:?}");
    assert!(rb.is_err(), "b neither timed out nor got data: {rb:?}");
    // without keep-alives b times out
    a.set_keep_alive(None);
    let started = std::time::Instant::now();
    let rb = tokio::time::timeout(Duration::from_secs(5), b.read(&mut bb))
        .await
        .expect("b's own timeout fires first");
    let err = rb.expect_err("timed out");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(err.to_string(), "Stream timed out");
    assert!(started.elapsed() < Duration::from_secs(2));
    // a failed stream stays failed
    assert!(b.write_all(b"x").await.is_err());
}

#[tokio::test]
async fn tampered_frame_fails_the_stream() {
    let (ta, tb) = tokio::io::duplex(64 * 1024);
    let hs = |init: bool, t| SecretStreamIo::handshake_xx(t, init, DhKeyPair::generate());
    // a man in the middle: run the handshake on the real pipe, then flip a bit of the data
    let (a, b) = tokio::join!(hs(true, ta), hs(false, tb));
    let (mut a, mut b) = (a.unwrap(), b.unwrap());
    a.write_all(b"first").await.unwrap();
    a.flush().await.unwrap();
    let mut buf = [0u8; 5];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"first");
    // inject a corrupted frame straight into b's transport
    let mut raw = a.into_inner();
    raw.write_all(&[21, 0, 0, 0xde, 0xad, 0xbe, 0xef])
        .await
        .unwrap();
    raw.write_all(&[0u8; 17]).await.unwrap();
    let err = b.read(&mut buf).await.expect_err("bad frame");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(b.read(&mut buf).await.is_err(), "stays failed");
}

/// Every write is one frame, delivered whole as one message (NoiseSecretStream's atomic
/// writes; protomux decodes each received frame as one message). Writes above 64 KiB used to
/// be split into several frames, which hypercore's peers rejected ("Out of bounds").
#[tokio::test]
async fn writes_arrive_as_whole_messages() {
    let (mut a, mut b) = pair().await;
    let sizes = [1usize, 70_000, 65_536, 65_537, 300_000, 5, 1 << 20, 2];
    let msgs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(k, &n)| (0..n).map(|i| (i * 13 + k) as u8).collect())
        .collect();
    let send = msgs.clone();
    // the 64 KiB duplex fills up: big writes go out while the reader lags behind
    let writer = async move {
        for m in &send {
            a.write_all(m).await.unwrap();
        }
        a.shutdown().await.unwrap();
        a
    };
    let reader = async {
        let mut got = Vec::new();
        while let Some(m) = std::future::poll_fn(|cx| b.poll_read_chunk(cx))
            .await
            .unwrap()
        {
            got.push(m);
        }
        got
    };
    let (mut a, got) = tokio::join!(writer, reader);
    let got_sizes: Vec<usize> = got.iter().map(Vec::len).collect();
    assert_eq!(got_sizes, sizes, "one message per write");
    assert!(got == msgs, "byte-exact");
    // like JS: a message that does not fit one u24 frame is refused, nothing is sent
    let huge = vec![0u8; (1 << 24) - 16];
    let err = a.write(&huge).await.expect_err("too large");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "Message is too large for an atomic write. Max size is 16777215 bytes."
    );
    assert!(!a.has_pending_output());
}

/// After a 200 KiB message each way is written and read, neither side keeps a buffer of that
/// size (an idle connection holds what a small message needs); `release_buffers` frees the rest.
#[tokio::test]
async fn buffers_of_a_large_message_are_freed_once_it_is_through() {
    let (mut a, mut b) = pair().await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let write = async {
        a.write_all(&data).await?;
        a.flush().await
    };
    let (w, r) = tokio::join!(write, async {
        let mut got = vec![0u8; data.len()];
        b.read_exact(&mut got).await.map(|_| got)
    });
    w.unwrap();
    assert_eq!(r.unwrap(), data);
    for s in [&a, &b] {
        assert!(
            s.buffer_capacity() <= 32 * 1024,
            "{} bytes kept",
            s.buffer_capacity()
        );
    }
    a.release_buffers();
    b.release_buffers();
    assert_eq!((a.buffer_capacity(), b.buffer_capacity()), (0, 0));
}
