//! Throughput of the secret-stream codec alone (no transport): encrypt 64 KiB writes into frames,
//! then feed the frames to the peer's codec. `cargo run --release --example codec_bench [MiB]`.
//! Prints one JSON line: {encryptMBps, decryptMBps, bytes}.

use std::time::Instant;

use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, SecretStream, StreamEvent};

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let (a, b) = (DhKeyPair::generate(), DhKeyPair::generate());
    let mut c = Handshake::initiator(a, b.public_key, &[0u8; 32]).unwrap();
    let mut s = Handshake::responder(b, &[0u8; 32]).unwrap();
    s.recv(&c.send(b"").unwrap()).unwrap();
    c.recv(&s.send(b"").unwrap()).unwrap();
    let (mut tx, header) = SecretStream::new(&c.result().unwrap());
    let (mut rx, _) = SecretStream::new(&s.result().unwrap());
    rx.feed(&header).unwrap();

    let chunk = vec![0x5au8; 64 * 1024];
    let count = (mib << 20) / chunk.len();
    let mut frames = Vec::with_capacity(count);
    let t0 = Instant::now();
    for _ in 0..count {
        frames.push(tx.encrypt(&chunk).unwrap());
    }
    let enc = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut got = 0usize;
    for f in &frames {
        for ev in rx.feed(f).unwrap() {
            if let StreamEvent::Data(d) = ev {
                got += d.len();
            }
        }
    }
    let dec = t1.elapsed().as_secs_f64();
    let bytes = count * chunk.len();
    assert_eq!(got, bytes);
    println!(
        "{{\"bytes\":{bytes},\"encryptMBps\":{:.1},\"decryptMBps\":{:.1}}}",
        bytes as f64 / 1e6 / enc,
        bytes as f64 / 1e6 / dec
    );
}
