//! Shared by the JS interop tests: the deterministic byte pattern both sides write and the
//! child-process plumbing around `tests/js/*.js`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use sha2::{Digest, Sha256};

/// `chunk(offset, len)` of the JS scripts: u32le words `(offset + i) / 4 ^ seed`.
pub fn pattern(offset: usize, len: usize, seed: u32) -> Vec<u8> {
    let mut b = vec![0u8; len];
    for (i, w) in b.chunks_mut(4).enumerate() {
        let v = (((offset / 4) + i) as u32) ^ seed;
        w.copy_from_slice(&v.to_le_bytes()[..w.len()]);
    }
    b
}

pub fn sha_of_pattern(bytes: usize, seed: u32) -> String {
    let mut h = Sha256::new();
    let mut off = 0;
    while off < bytes {
        let n = (bytes - off).min(65536);
        h.update(pattern(off, n, seed));
        off += n;
    }
    format!("{:x}", h.finalize())
}

/// Starts `node tests/js/<script> args...`; returns the child, the port from its first line
/// (`PORT n`) and the rest of its stdout.
pub fn spawn_node(script: &str, args: &[String]) -> (Child, u16, Lines<BufReader<ChildStdout>>) {
    let path = format!("{}/tests/js/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is required for the interop tests");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = lines.next().expect("peer line").expect("utf8");
    let port = first
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("{script}: {first}"))
        .parse()
        .expect("port");
    (child, port, lines)
}

/// Waits for the `RESULT {json}` line and the child's exit.
pub async fn result(mut child: Child, lines: Lines<BufReader<ChildStdout>>) -> serde_json::Value {
    let line = tokio::task::spawn_blocking(move || {
        lines
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("RESULT ").map(str::to_string))
            .unwrap_or_default()
    })
    .await
    .expect("join");
    let _ = child.wait();
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("no result from peer: {line:?}"))
}
