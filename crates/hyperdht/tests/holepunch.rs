//! Holepunching between Rust and JS with both nodes firewalled (no quick firewall check) and
//! the LAN shortcut disabled (`localConnection: false`), so the only way through is the
//! holepunch exchange (PEER_HOLEPUNCH rounds via the server's relay, probes). Runs inside
//! `unshare -rn` (loopback only: every NAT looks CONSISTENT).

mod common;

use std::time::Duration;

use common::{hex32, in_netns, runtime, rust_node_with, JsHelper};
use hyperdht_core::ConnectOptions;
use hyperdht_crypto::KeyPair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The JS side's UDX stream is on a pooled (puncher) socket, not on its DHT sockets.
fn on_pooled_socket(v: &serde_json::Value) -> bool {
    let port = v["localPort"].as_u64().unwrap();
    !v["dhtPorts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_u64() == Some(port))
}

#[test]
fn js_client_holepunches_to_rust_server() {
    if !in_netns("js_client_holepunches_to_rust_server") {
        return;
    }
    let js = JsHelper::spawn("client.js", &["8", "firewalled"]);
    assert_eq!(
        js.ready["firewalled"], true,
        "the JS client must stay firewalled"
    );
    let client_pk = hex32(&js.ready["publicKey"]);
    let bootstrap = js.bootstrap();
    let rt = runtime();
    rt.block_on(async move {
        let (dht, node, udx) = rust_node_with(bootstrap, true).await;
        assert!(dht.is_firewalled(), "the Rust server must stay firewalled");
        let kp = KeyPair::generate();
        let mut conns = node.listen(udx, &kp).await.expect("listening");
        assert!(!node.relay_addresses(&kp.public_key).is_empty());
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(mut c) = conns.recv().await {
                seen.push(*c.remote_public_key());
                tokio::spawn(async move {
                    let mut b = [0u8; 5];
                    c.read_exact(&mut b).await.unwrap();
                    c.write_all(b"echo:hello").await.unwrap();
                    c.flush().await.unwrap();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                });
                if seen.len() == 2 {
                    break;
                }
            }
            seen
        });
        // with fast open the first probe exchange wins; without it the full rounds run
        // (probe round, punch round with tokens, consistent probing on both sides)
        let mut js = js;
        for fast_open in [true, false] {
            js.send(&format!(
                r#"{{"publicKey":"{}","localConnection":false,"fastOpen":{fast_open}}}"#,
                hex::encode(kp.public_key)
            ));
            let (r, j) = tokio::task::spawn_blocking(move || (js.expect("RESULT "), js))
                .await
                .unwrap();
            js = j;
            assert_eq!(
                r["data"].as_str(),
                Some("echo:hello"),
                "fastOpen {fast_open}: {r}"
            );
            assert!(on_pooled_socket(&r), "the JS client punched: {r}");
            assert_eq!(
                r["remoteAddress"].as_str().unwrap(),
                dht.server_address().to_string(),
                "it reached our punching (server) socket"
            );
        }
        let seen = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server side in time")
            .unwrap();
        assert_eq!(seen, vec![client_pk, client_pk]);
        node.unlisten(&kp).await;
        dht.destroy().await;
        tokio::task::spawn_blocking(move || js.finish())
            .await
            .unwrap();
    });
}

#[test]
fn rust_client_holepunches_to_js_server() {
    if !in_netns("rust_client_holepunches_to_js_server") {
        return;
    }
    let js = JsHelper::spawn("server.js", &["8", "firewalled"]);
    assert_eq!(
        js.ready["firewalled"], true,
        "the JS server must stay firewalled"
    );
    let server_pk = hex32(&js.ready["publicKey"]);
    let bootstrap = js.bootstrap();
    let rt = runtime();
    rt.block_on(async move {
        let (dht, node, udx) = rust_node_with(bootstrap, true).await;
        assert!(dht.is_firewalled(), "the Rust client must stay firewalled");
        let kp = KeyPair::generate();
        let mut js = js;
        for fast_open in [true, false] {
            let opts = ConnectOptions {
                local_connection: false,
                fast_open,
            };
            let mut conn = tokio::time::timeout(
                Duration::from_secs(30),
                node.connect_with(&udx, &kp, server_pk, opts),
            )
            .await
            .expect("connect in time")
            .expect("holepunched");
            conn.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 10];
            tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
                .await
                .expect("echo in time")
                .unwrap();
            assert_eq!(&buf, b"echo:hello");
            let hash = *conn.handshake_hash();
            let (c, j) = tokio::task::spawn_blocking(move || {
                let mut js = js;
                (js.expect("CONN "), js)
            })
            .await
            .unwrap();
            assert_eq!(
                c["remotePublicKey"].as_str().unwrap(),
                hex::encode(kp.public_key)
            );
            assert_eq!(c["handshakeHash"].as_str().unwrap(), hex::encode(hash));
            assert!(on_pooled_socket(&c), "the JS server punched: {c}");
            conn.shutdown().await.unwrap();
            js = j;
        }
        dht.destroy().await;
        tokio::task::spawn_blocking(move || js.finish())
            .await
            .unwrap();
    });
}

#[test]
fn rust_client_holepunches_to_rust_server() {
    if !in_netns("rust_client_holepunches_to_rust_server") {
        return;
    }
    let js = JsHelper::spawn("client.js", &["8"]);
    let bootstrap = js.bootstrap();
    let rt = runtime();
    rt.block_on(async move {
        let (sdht, server, sudx) = rust_node_with(bootstrap, true).await;
        let (cdht, client, cudx) = rust_node_with(bootstrap, true).await;
        assert!(sdht.is_firewalled() && cdht.is_firewalled());
        let skp = KeyPair::generate();
        let ckp = KeyPair::generate();
        let mut conns = server.listen(sudx, &skp).await.expect("listening");
        tokio::spawn(async move {
            while let Some(mut c) = conns.recv().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 5];
                    if c.read_exact(&mut b).await.is_ok() {
                        let _ = c.write_all(b"echo:hello").await;
                        let _ = c.flush().await;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                });
            }
        });
        for fast_open in [true, false] {
            let opts = ConnectOptions {
                local_connection: false,
                fast_open,
            };
            let mut conn = tokio::time::timeout(
                Duration::from_secs(30),
                client.connect_with(&cudx, &ckp, skp.public_key, opts),
            )
            .await
            .expect("connect in time")
            .unwrap_or_else(|e| panic!("fastOpen {fast_open}: {e}"));
            conn.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 10];
            tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
                .await
                .expect("echo in time")
                .unwrap();
            assert_eq!(&buf, b"echo:hello");
        }
        server.unlisten(&skp).await;
        sdht.destroy().await;
        cdht.destroy().await;
    });
    js.finish();
}
