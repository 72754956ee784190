//! Rust client → JS hyperdht server over the DHT (FIND_PEER, routed PEER_HANDSHAKE, LAN
//! shortcut, UDX on the DHT socket, secret-stream). Runs inside `unshare -rn` (loopback only).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use hyperdht_core::{udx_on_dht, CacheOptions, HyperDht};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::{Dht, DhtOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NETNS_ENV: &str = "HYPERDHT_CORE_IN_NETNS";

fn in_netns(test: &str) -> bool {
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

#[test]
fn rust_client_connects_to_js_server() {
    if !in_netns("rust_client_connects_to_js_server") {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/server.js");
    let mut child = Command::new("node")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("output").expect("line");
    let info: serde_json::Value = serde_json::from_str(
        ready
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("server.js: {ready}")),
    )
    .unwrap();
    let bootstrap = info["bootstrap"].as_u64().unwrap();
    let server_pk: [u8; 32] = hex::decode(info["publicKey"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (conn_line, ours) = rt.block_on(async move {
        let dht = Dht::new(DhtOptions {
            bootstrap: vec![format!("127.0.0.1:{bootstrap}")],
            host: "127.0.0.1".parse().unwrap(),
            ephemeral: Some(true),
            ..DhtOptions::default()
        })
        .unwrap();
        dht.ready().await.unwrap();
        let udx = udx_on_dht(&dht);
        let node = HyperDht::new(dht.clone(), CacheOptions::default());
        let kp = KeyPair::generate();
        let mut conn =
            tokio::time::timeout(Duration::from_secs(20), node.connect(&udx, &kp, server_pk))
                .await
                .expect("connect in time")
                .expect("connected");
        assert_eq!(conn.remote_public_key(), &server_pk);
        assert_eq!(conn.public_key(), &kp.public_key);
        conn.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 10];
        tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(&buf, b"echo:hello");
        let hash = *conn.handshake_hash();
        conn.shutdown().await.unwrap();
        let line = tokio::task::spawn_blocking(move || {
            lines
                .map_while(Result::ok)
                .find(|l| l.starts_with("CONN "))
                .unwrap_or_default()
        })
        .await
        .unwrap();
        dht.destroy().await;
        (line, (kp.public_key, hash))
    });
    drop(child.stdin.take());
    let _ = child.wait();
    let c: serde_json::Value = serde_json::from_str(conn_line.trim_start_matches("CONN "))
        .expect("server saw the connection");
    assert_eq!(c["remotePublicKey"].as_str().unwrap(), hex::encode(ours.0));
    assert_eq!(c["handshakeHash"].as_str().unwrap(), hex::encode(ours.1));
}

#[test]
fn js_client_connects_to_rust_server() {
    if !in_netns("js_client_connects_to_rust_server") {
        return;
    }
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/client.js");
    let mut child = Command::new("node")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("output").expect("line");
    let info: serde_json::Value = serde_json::from_str(
        ready
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("client.js: {ready}")),
    )
    .unwrap();
    let bootstrap = info["bootstrap"].as_u64().unwrap();
    let client_pk = info["publicKey"].as_str().unwrap().to_string();
    let mut stdin = child.stdin.take().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (result, server_pk, hash) = rt.block_on(async move {
        let dht = Dht::new(DhtOptions {
            bootstrap: vec![format!("127.0.0.1:{bootstrap}")],
            host: "127.0.0.1".parse().unwrap(),
            ephemeral: Some(true),
            ..DhtOptions::default()
        })
        .unwrap();
        dht.ready().await.unwrap();
        let udx = udx_on_dht(&dht);
        let node = HyperDht::new(dht.clone(), CacheOptions::default());
        let kp = KeyPair::generate();
        let mut conns = node.listen(udx, &kp).await.expect("announced");
        writeln!(stdin, "{}", hex::encode(kp.public_key)).unwrap();
        let mut conn = tokio::time::timeout(Duration::from_secs(20), conns.recv())
            .await
            .expect("connection in time")
            .expect("a connection");
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        conn.write_all(b"echo:hello").await.unwrap();
        let hash = *conn.handshake_hash();
        let remote = *conn.remote_public_key();
        let line = tokio::task::spawn_blocking(move || {
            lines
                .map_while(Result::ok)
                .find(|l| l.starts_with("RESULT "))
                .unwrap_or_default()
        })
        .await
        .unwrap();
        assert_eq!(
            hex::encode(remote),
            client_pk,
            "the server sees the client's key"
        );
        node.unlisten(&kp).await;
        dht.destroy().await;
        (line, kp.public_key, hash)
    });
    let _ = child.wait();
    let r: serde_json::Value =
        serde_json::from_str(result.trim_start_matches("RESULT ")).expect("client result");
    assert_eq!(r["data"].as_str(), Some("echo:hello"), "{r}");
    assert_eq!(
        r["remotePublicKey"].as_str().unwrap(),
        hex::encode(server_pk)
    );
    assert_eq!(r["handshakeHash"].as_str().unwrap(), hex::encode(hash));
}
