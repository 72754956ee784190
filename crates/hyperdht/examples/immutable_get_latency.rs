//! Engine-only immutableGet latency against a running testnet (no napi, no JS): the baseline the
//! JS API's figure in bench/records.js is compared with.
//! Usage: cargo run --release -p hyperdht-core --example immutable_get_latency -- HOST:PORT [N]

use std::time::Instant;

use hyperdht_core::{CacheOptions, HyperDht, QueryOptions};
use hyperdht_rpc::{Dht, DhtOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().expect("bootstrap HOST:PORT");
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100);
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dht = Dht::new(DhtOptions {
            bootstrap: vec![bootstrap],
            host: "127.0.0.1".parse().unwrap(),
            ephemeral: Some(true),
            ..DhtOptions::default()
        })
        .expect("bind");
        dht.ready().await.expect("bootstrapped");
        let node = HyperDht::new(dht.clone(), CacheOptions::default());
        let o = QueryOptions::default();
        let mut times = Vec::new();
        for i in 0..n {
            let value = format!("latency value {i}").into_bytes();
            node.immutable_put(&value, &o).await.expect("put");
            let target = hyperdht_crypto::hash(&value);
            let t = Instant::now();
            let got = node.immutable_get(target, &o).await.expect("get");
            assert!(got.is_some(), "value not found");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "immutableGet engine-only, {threads} worker threads: p50 {:.3} ms, p95 {:.3} ms",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
        dht.destroy().await;
    });
}
