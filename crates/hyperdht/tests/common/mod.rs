//! Shared helpers for the networked tests: a private loopback network namespace, Rust DHT nodes
//! whose UDX endpoint shares the DHT socket, and JS helper processes speaking line protocols.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines, Write};
use std::net::SocketAddrV4;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use hyperdht_core::{udx_on_dht, CacheOptions, HyperDht};
use hyperdht_rpc::{Dht, DhtOptions};
use hyperdht_udx::UdxSocket;

const NETNS_ENV: &str = "HYPERDHT_CORE_IN_NETNS";

/// Re-runs `test` of the current binary inside `unshare -rn` with `lo` up; returns true when
/// already inside (then the caller runs the test body).
pub fn in_netns(test: &str) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(NETNS_ENV, "1")
        .status()
        .unwrap_or_else(|e| panic!("needs `unshare -rn` for a private loopback network: {e}"));
    assert!(
        status.success(),
        "{test} failed inside the loopback namespace ({status})"
    );
    false
}

/// An ephemeral Rust node on 127.0.0.1 bootstrapped from `bootstrap`, with a UDX endpoint on
/// its server socket.
pub async fn rust_node(bootstrap: u64) -> (Dht, HyperDht, UdxSocket) {
    rust_node_with(bootstrap, false).await
}

/// Like [`rust_node`]; `firewalled` skips the quick firewall check so the node stays
/// firewalled on loopback (then it must holepunch).
pub async fn rust_node_with(bootstrap: u64, firewalled: bool) -> (Dht, HyperDht, UdxSocket) {
    let dht = Dht::new(DhtOptions {
        bootstrap: vec![format!("127.0.0.1:{bootstrap}")],
        host: "127.0.0.1".parse().unwrap(),
        ephemeral: Some(true),
        quick_firewall: !firewalled,
        ..DhtOptions::default()
    })
    .unwrap();
    dht.ready().await.unwrap();
    let udx = udx_on_dht(&dht);
    let node = HyperDht::new(dht.clone(), CacheOptions::default());
    node.attach_udx(udx.clone());
    (dht, node, udx)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A node.js helper from `tests/js` that prints `READY {json}` first.
pub struct JsHelper {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: Lines<BufReader<ChildStdout>>,
    pub ready: serde_json::Value,
}

impl JsHelper {
    pub fn spawn(script: &str, args: &[&str]) -> Self {
        let path = format!("{}/tests/js/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("node")
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("output").expect("line");
        let ready = serde_json::from_str(
            first
                .strip_prefix("READY ")
                .unwrap_or_else(|| panic!("{script}: {first}")),
        )
        .unwrap();
        JsHelper {
            child,
            stdin,
            lines,
            ready,
        }
    }

    pub fn bootstrap(&self) -> u64 {
        self.ready["bootstrap"].as_u64().unwrap()
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line starting with `prefix`, parsed as JSON (blocking; call from
    /// `spawn_blocking` inside async code).
    pub fn expect(&mut self, prefix: &str) -> serde_json::Value {
        for l in self.lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = l.strip_prefix(prefix) {
                return serde_json::from_str(rest.trim()).unwrap();
            }
        }
        panic!("helper exited before printing {prefix}");
    }

    pub fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

pub fn hex32(v: &serde_json::Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

pub fn v4(v: &serde_json::Value) -> SocketAddrV4 {
    v.as_str().unwrap().parse().unwrap()
}
