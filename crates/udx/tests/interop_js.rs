//! Interop with real udx-native (node child process, `tests/js/peer.js`): 64 MiB each way with
//! half-close, directly and through a lossy proxy (5% loss, duplication, reordering). Both
//! sides probe the path MTU: directly, each ends above the 1200-byte base.
//! Needs `npm install` at the repo root (udx-native comes with the hyperdht devDependency).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyperdht_udx::UdxSocket;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

const MIB: usize = 1 << 20;

fn pattern(offset: usize, len: usize, seed: u32) -> Vec<u8> {
    let mut b = vec![0u8; len];
    for i in (0..len).step_by(4) {
        let w = (((offset + i) / 4) as u32) ^ seed;
        b[i..i + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

fn expected_sha(bytes: usize, seed: u32) -> String {
    let mut h = Sha256::new();
    let mut off = 0;
    while off < bytes {
        let n = (bytes - off).min(65536);
        h.update(pattern(off, n, seed));
        off += n;
    }
    format!("{:x}", h.finalize())
}

/// A UDP proxy between `a_peer` (JS) and `b_peer` (Rust) dropping, duplicating and delaying.
async fn lossy_proxy(
    js_side: UdpSocket,
    rust_side: UdpSocket,
    js_peer_port: tokio::sync::oneshot::Receiver<SocketAddr>,
    rust_peer: SocketAddr,
    largest: Arc<[AtomicUsize; 2]>,
) {
    let js_side = Arc::new(js_side);
    let rust_side = Arc::new(rust_side);
    let js_peer = js_peer_port.await.expect("js port");
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 1000
    };
    let mut b1 = vec![0u8; 4096];
    let mut b2 = vec![0u8; 4096];
    loop {
        let (data, out, to) = tokio::select! {
            r = js_side.recv_from(&mut b1) => { let Ok((n, _)) = r else { return }; largest[0].fetch_max(n, Ordering::Relaxed); (b1[..n].to_vec(), rust_side.clone(), rust_peer) }
            r = rust_side.recv_from(&mut b2) => { let Ok((n, _)) = r else { return }; largest[1].fetch_max(n, Ordering::Relaxed); (b2[..n].to_vec(), js_side.clone(), js_peer) }
        };
        let r = rnd();
        if r < 50 {
            continue; // 5% loss
        }
        if r < 70 {
            let _ = out.send_to(&data, to).await; // 2% duplication
        }
        if r < 150 {
            // 8% reordered: delivered a little later
            let (o, d) = (out.clone(), data.clone());
            let delay = 1 + (r % 4);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let _ = o.send_to(&d, to).await;
            });
            continue;
        }
        let _ = out.send_to(&data, to).await;
    }
}

/// Prints the stream's state whenever a few seconds pass without bytes written or read.
async fn watch(stream: hyperdht_udx::UdxStreamRef, progress: Arc<[AtomicUsize; 2]>) {
    let mut last = [usize::MAX; 2];
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = [0, 1].map(|i| progress[i].load(Ordering::Relaxed));
        if now == last {
            eprintln!(
                "stalled: written {} read {}: {}",
                now[0],
                now[1],
                stream.debug_state().unwrap_or_default()
            );
        }
        last = now;
    }
}

/// Returns peer.js's result, the largest datagram from (JS, Rust) through the proxy, and our
/// stream's MTU at the end.
async fn exchange(bytes: usize, lossy: bool) -> (serde_json::Value, [usize; 2], usize) {
    let largest = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let sock = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let rust_addr = sock.local_addr().unwrap();
    let (proxy_js, proxy_rust, tx) = if lossy {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        tokio::spawn(lossy_proxy(a, b, rx, rust_addr, largest.clone()));
        (Some(pa), Some(pb), Some(tx))
    } else {
        (None, None, None)
    };
    let node_target = proxy_js.unwrap_or(rust_addr);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/peer.js");
    let mut child = Command::new("node")
        .args([
            script,
            &node_target.port().to_string(),
            "2",
            "1",
            &bytes.to_string(),
            "77",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is required for the interop tests");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("node output").expect("line");
    let node_port: u16 = first
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("peer.js failed: {first}"))
        .parse()
        .unwrap();
    let node_addr: SocketAddr = format!("127.0.0.1:{node_port}").parse().unwrap();
    if let Some(tx) = tx {
        let _ = tx.send(node_addr);
    }
    let mut stream = sock.connect(1, 2, proxy_rust.unwrap_or(node_addr));
    // a stalled transfer prints both ends' state every few seconds (seen with --nocapture)
    let progress = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let watchdog = tokio::spawn(watch(stream.downgrade(), progress.clone()));
    let started = std::time::Instant::now();
    let (mut rd, mut wr) = tokio::io::split(&mut stream);
    let writer = async {
        let mut off = 0;
        while off < bytes {
            let n = (bytes - off).min(65536);
            wr.write_all(&pattern(off, n, 99)).await.unwrap();
            off += n;
            progress[0].store(off, Ordering::Relaxed);
        }
        wr.shutdown().await.unwrap();
    };
    let reader = async {
        let mut h = Sha256::new();
        let mut total = 0;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = rd.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            total += n;
            progress[1].store(total, Ordering::Relaxed);
            h.update(&buf[..n]);
        }
        (total, format!("{:x}", h.finalize()))
    };
    let (_, (total, sha)) = tokio::time::timeout(Duration::from_secs(240), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("transfer finished in time");
    eprintln!(
        "transfer done in {:?}: {}",
        started.elapsed(),
        stream.downgrade().debug_state().unwrap_or_default()
    );
    assert_eq!(total, bytes);
    assert_eq!(
        sha,
        expected_sha(bytes, 77),
        "bytes from udx-native arrive exactly"
    );
    let result = tokio::task::spawn_blocking(move || {
        for l in lines.map_while(Result::ok) {
            if let Some(r) = l.strip_prefix("RESULT ") {
                return r.to_string();
            }
        }
        String::new()
    })
    .await
    .unwrap();
    // the watchdog also covers the wait for udx-native's result (our sending may still run)
    watchdog.abort();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&result)
        .unwrap_or_else(|_| panic!("no result from peer.js: {result}"));
    assert_eq!(v["received"].as_u64(), Some(bytes as u64), "{v}");
    assert_eq!(
        v["sha256"].as_str(),
        Some(expected_sha(bytes, 99).as_str()),
        "udx-native got our bytes exactly"
    );
    // A clean close needs the peer's ACK of our END. Through the lossy proxy that ACK can be
    // lost, and libudx has no TIME_WAIT: peer.js closes its socket as soon as its stream closes,
    // so our END is never acknowledged and the stream ends by retransmission timeout instead
    // (seen in ~1 of 5 CI runs). The bytes above are what this path checks; the direct
    // exchange checks the clean close.
    if !lossy {
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), stream.closed())
                .await
                .expect("clean close"),
            None
        );
    }
    let sizes = [0, 1].map(|i| largest[i].load(Ordering::Relaxed));
    (v, sizes, stream.mtu())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udx_native_64mib_both_ways() {
    let bytes = std::env::var("UDX_TEST_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 * MIB);
    let (v, _, our_mtu) = exchange(bytes, false).await;
    // udx-native's own MTU search: its probes reached our receiver (padding skipped, acked),
    // and ours reached udx-native's
    let js_mtu = v["mtu"].as_u64().unwrap_or(0);
    eprintln!("udx-native stream mtu {js_mtu}, ours {our_mtu}");
    assert!(js_mtu > 1200, "udx-native raised its MTU: {v}");
    assert!(our_mtu > 1200, "we raised our MTU: {our_mtu}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udx_native_through_lossy_proxy() {
    let (v, [from_js, from_rust], _) = exchange(64 * MIB, true).await;
    // Probes bigger than the 1200-byte base (a 1172-byte datagram) go through the proxy too,
    // but are not asserted here: a probe lost or overtaken (13% of datagrams) counts as lost,
    // and three such in a row end the search at the base, in libudx as in ours (seen in ~1 of
    // 20 runs, either side). The direct exchange asserts that both sides probe.
    eprintln!("largest datagrams: udx-native {from_js}, rust {from_rust}; {v}");
}
