//! Throughput and CPU of one encrypted stream (secret-stream over UDX), used by bench/transport.js.
//! `transport_bench rr <MiB>`: Rust ↔ Rust in this process.
//! `transport_bench rj <MiB>`: Rust → JS (@hyperswarm/secret-stream over udx-native, child node).
//! Prints one JSON line: {mode, bytes, seconds, mbps, cpuSeconds}.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, HandshakeResult, Pattern, SecretStreamIo};
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (USER_HZ = 100 on Linux)
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn handshake() -> (HandshakeResult, HandshakeResult) {
    let (a, b) = (DhKeyPair::generate(), DhKeyPair::generate());
    let mut c = Handshake::new(Pattern::IK, true, a, &[0u8; 32], Some(b.public_key)).unwrap();
    let mut s = Handshake::new(Pattern::IK, false, b, &[0u8; 32], None).unwrap();
    s.recv(&c.send(b"").unwrap()).unwrap();
    c.recv(&s.send(b"").unwrap()).unwrap();
    (c.result().unwrap(), s.result().unwrap())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "rr".into());
    let mib: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(256);
    let bytes = mib << 20;
    let (ours, theirs) = handshake();
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut child_cpu = 0.0;
    if mode == "rr" {
        let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let ra = a.connect(1, 2, b.local_addr().unwrap());
        let rb = b.connect(2, 1, a.local_addr().unwrap());
        let mut sa = SecretStreamIo::new(ra, ours);
        let mut sb = SecretStreamIo::new(rb, theirs);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0;
            loop {
                let n = sb.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
            sb.shutdown().await.unwrap();
            total
        });
        let mut sent = 0;
        while sent < bytes {
            sa.write_all(&chunk).await.unwrap();
            sent += chunk.len();
        }
        sa.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap(), bytes);
    } else {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/peer.js");
        let port = a.local_addr().unwrap().port();
        let mut child = Command::new("node")
            .args([
                script.to_string(),
                port.to_string(),
                "2".into(),
                "1".into(),
                "0".into(),
                "1".into(),
                hex(&theirs.tx),
                hex(&theirs.rx),
                hex(&theirs.hash),
                hex(&theirs.public_key),
                hex(&theirs.remote_public_key),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let node_port: u16 = first.trim_start_matches("PORT ").parse().unwrap();
        let raw = a.connect(1, 2, SocketAddr::from(([127, 0, 0, 1], node_port)));
        let mut sa = SecretStreamIo::new(raw, ours);
        let mut sent = 0;
        while sent < bytes {
            sa.write_all(&chunk).await.unwrap();
            sent += chunk.len();
        }
        sa.shutdown().await.unwrap();
        let mut sink = vec![0u8; 1024];
        while sa.read(&mut sink).await.unwrap() > 0 {}
        let result = tokio::task::spawn_blocking(move || {
            lines
                .map_while(Result::ok)
                .find_map(|l| l.strip_prefix("RESULT ").map(str::to_string))
                .unwrap_or_default()
        })
        .await
        .unwrap();
        let _ = child.wait();
        let v: serde_json::Value = serde_json::from_str(&result).expect("peer result");
        assert_eq!(v["received"].as_u64(), Some(bytes as u64));
        child_cpu = (v["cpu"]["user"].as_f64().unwrap_or(0.0)
            + v["cpu"]["system"].as_f64().unwrap_or(0.0))
            / 1e6;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0 + child_cpu;
    println!(
        "{}",
        serde_json::json!({"mode": mode, "bytes": bytes, "seconds": secs, "mbps": bytes as f64 / 1e6 / secs, "cpuSeconds": cpu, "cpuPerGB": cpu / (bytes as f64 / 1e9)})
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
