//! Handshake and holepunch state is dropped once connections are open or failed: after many
//! connects and closes, the server's handshake slots (`_holepunches` / `_connects`), the
//! holepunchers and the routes are empty on both sides; only the bounded relay-address cache
//! keeps one entry per remote key. Also prints the resident-memory growth per connection.
//! Runs inside `unshare -rn` (loopback only).

mod common;

use std::time::{Duration, Instant};

use common::{in_netns, runtime, rust_node, rust_node_with, JsHelper};
use hyperdht_core::{ConnectOptions, HyperDht, InternalCounts, ListenOptions};
use hyperdht_crypto::KeyPair;
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn echo_all(mut conns: tokio::sync::mpsc::Receiver<hyperdht_core::server::Connection>) {
    while let Some(mut c) = conns.recv().await {
        tokio::spawn(async move {
            let mut b = [0u8; 5];
            if c.read_exact(&mut b).await.is_ok() {
                let _ = c.write_all(b"echo:hello").await;
                let _ = c.flush().await;
            }
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest)).await;
        });
    }
}

async fn connect_echo(
    node: &HyperDht,
    udx: &UdxSocket,
    kp: &KeyPair,
    server: [u8; 32],
    opts: ConnectOptions,
) {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(60),
        node.connect_with(udx, kp, server, opts),
    )
    .await
    .expect("connect in time")
    .expect("connected");
    conn.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 10];
    tokio::time::timeout(Duration::from_secs(20), conn.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(&buf, b"echo:hello");
    conn.shutdown().await.unwrap();
}

/// Waits until `node`'s handshake state is gone (servers keep a slot 10 s after it connects).
async fn drained(node: &HyperDht, relay_cache: usize) -> InternalCounts {
    let want = InternalCounts {
        relay_cache,
        ..InternalCounts::default()
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let c = node.internal_counts();
        if c == want || Instant::now() > deadline {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Resident set size in bytes (Linux `/proc/self/statm`).
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn many_connects_leave_no_handshake_state() {
    if !in_netns("many_connects_leave_no_handshake_state") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["8"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (sdht, server, sudx) = rust_node(bootstrap).await;
        let (dht, node, udx) = rust_node(bootstrap).await;
        let skp = KeyPair::generate();
        let conns = server
            .listen_with(sudx, &skp, ListenOptions::default())
            .await
            .expect("listening");
        tokio::spawn(echo_all(conns));
        let kp = KeyPair::generate();
        // warm up (allocator arenas, caches) before measuring
        connect_echo(&node, &udx, &kp, skp.public_key, ConnectOptions::default()).await;
        let start_rss = rss();
        let started = Instant::now();
        const BATCHES: usize = 4;
        const PER_BATCH: usize = 50;
        for _ in 0..BATCHES {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..PER_BATCH {
                let (node, udx, kp) = (node.clone(), udx.clone(), kp.clone());
                let pk = skp.public_key;
                set.spawn(async move {
                    connect_echo(&node, &udx, &kp, pk, ConnectOptions::default()).await
                });
            }
            while let Some(r) = set.join_next().await {
                r.expect("connect task");
            }
        }
        let total = BATCHES * PER_BATCH;
        let held = server.internal_counts();
        let peak_rss = rss();
        println!(
            "{total} connects in {:?}; server slots right after: {}; RSS growth {} KiB \
             ({} B per connection while slots are held)",
            started.elapsed(),
            held.server_slots,
            peak_rss.saturating_sub(start_rss) / 1024,
            peak_rss.saturating_sub(start_rss) / total as u64
        );
        println!("client connect stats: {:?}", node.connect_stats());
        let c = drained(&node, 1).await;
        assert_eq!(c.punchers, 0, "client: {c:?}");
        assert_eq!(c.routes, 0, "client: {c:?}");
        assert_eq!(c.server_slots, 0, "client: {c:?}");
        let s = drained(&server, 0).await;
        assert_eq!(s, InternalCounts::default(), "server: {s:?}");
        println!(
            "after drain: RSS growth {} KiB over the warm state",
            rss().saturating_sub(start_rss) / 1024
        );
        server.unlisten(&skp).await;
        dht.destroy().await;
        sdht.destroy().await;
    });
    js.finish();
}

/// Holepunched connects (both nodes firewalled, no LAN shortcut): the punchers on both sides
/// are destroyed once the connection is open.
#[test]
fn holepunched_connects_leave_no_punchers() {
    if !in_netns("holepunched_connects_leave_no_punchers") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["8"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (sdht, server, sudx) = rust_node_with(bootstrap, true).await;
        let (dht, node, udx) = rust_node_with(bootstrap, true).await;
        let skp = KeyPair::generate();
        let conns = server
            .listen_with(sudx, &skp, ListenOptions::default())
            .await
            .expect("listening");
        tokio::spawn(echo_all(conns));
        let kp = KeyPair::generate();
        let opts = ConnectOptions {
            local_connection: false,
            fast_open: true,
        };
        for _ in 0..5 {
            connect_echo(&node, &udx, &kp, skp.public_key, opts).await;
        }
        let c = drained(&node, 1).await;
        assert_eq!(c.punchers, 0, "client: {c:?}");
        let s = drained(&server, 0).await;
        assert_eq!(s, InternalCounts::default(), "server: {s:?}");
        server.unlisten(&skp).await;
        dht.destroy().await;
        sdht.destroy().await;
    });
    js.finish();
}
