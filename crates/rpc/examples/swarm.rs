//! Starts a bootstrapper and N nodes (default 100) on 127.0.0.1 in one process, waits until
//! all are bootstrapped, runs a findNode from each of a few nodes, and prints timings and RSS.
//! `cargo run --release -p hyperdht-rpc --example swarm -- 100` (run it inside
//! `unshare -rn sh -c 'ip link set lo up && ...'` to stay off the host network).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use hyperdht_rpc::driver::{Dht, DhtOptions};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let rss0 = rss_kib();
    let boot = Dht::bind(DhtOptions::bootstrapper(0, Ipv4Addr::LOCALHOST))
        .await
        .expect("bootstrapper");
    boot.ready().await.expect("ready");
    let baddr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, boot.server_address().port());
    let t = Instant::now();
    let mut nodes = Vec::new();
    for _ in 0..n {
        let d = Dht::bind(DhtOptions {
            bootstrap: vec![baddr.to_string()],
            host: Ipv4Addr::LOCALHOST,
            ephemeral: Some(false),
            ..DhtOptions::default()
        })
        .await
        .expect("bind");
        nodes.push(d);
    }
    for d in &nodes {
        d.ready().await.expect("ready");
    }
    let boot_time = t.elapsed();
    let persistent = nodes.iter().filter(|d| d.id().is_some()).count();
    let t = Instant::now();
    let mut hits = 0;
    for i in 0..10.min(n) {
        let target = nodes[(i * 7 + 3) % n].id().expect("persistent");
        let closest = nodes[i].find_node(target).finish().await.expect("query");
        if closest.first().and_then(|r| r.from_id) == Some(target) {
            hits += 1;
        }
    }
    let query_time = t.elapsed();
    let rss = rss_kib();
    println!(
        "nodes={n} bootstrap_all={boot_time:?} persistent={persistent}/{n} findNode: {hits}/10 exact in {query_time:?} rss_total={rss} KiB per_node={} KiB",
        (rss.saturating_sub(rss0)) / (n as u64 + 1)
    );
    for d in &nodes {
        d.destroy().await;
    }
    boot.destroy().await;
}
