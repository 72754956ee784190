//! `HyperDht::stats()` through real connects between Rust nodes on a JS testnet (inside
//! `unshare -rn`: loopback only, every NAT looks CONSISTENT): which path each side counts,
//! `punches`, failures before a path, and the dht-rpc counters underneath.

mod common;

use std::time::Duration;

use common::{in_netns, runtime, rust_node_with, JsHelper};
use hyperdht_core::stats::{Path, StatsSnapshot};
use hyperdht_core::{CacheOptions, ConnectOptions, HyperDht};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::{Dht, DhtOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Waits (bounded) until `f` holds for `node`'s stats; servers count when their stream connects,
/// a moment after the client returned.
async fn until(node: &HyperDht, what: &str, f: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = node.stats();
        if f(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Connects and exchanges one echo, so both ends are open.
async fn echo(
    client: &HyperDht,
    udx: &hyperdht_udx::UdxSocket,
    to: [u8; 32],
    opts: ConnectOptions,
) {
    let ckp = KeyPair::generate();
    let mut conn = tokio::time::timeout(
        Duration::from_secs(30),
        client.connect_with(udx, &ckp, to, opts),
    )
    .await
    .expect("connect in time")
    .expect("connected");
    conn.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(&buf, b"hello");
}

fn echo_server(mut conns: tokio::sync::mpsc::Receiver<hyperdht_core::server::Connection>) {
    tokio::spawn(async move {
        while let Some(mut c) = conns.recv().await {
            tokio::spawn(async move {
                let mut b = [0u8; 5];
                if c.read_exact(&mut b).await.is_ok() {
                    let _ = c.write_all(&b).await;
                    let _ = c.flush().await;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
}

#[test]
fn connects_count_their_path_on_both_ends() {
    if !in_netns("connects_count_their_path_on_both_ends") {
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
        echo_server(server.listen(sudx, &skp).await.expect("listening"));
        let (c0, s0) = (client.stats(), server.stats());
        assert_eq!(c0.connections.client_opened.total(), 0);
        assert_eq!(c0.punches.consistent, 0);

        // holepunched: no LAN shortcut, full rounds
        let punch = ConnectOptions {
            local_connection: false,
            fast_open: false,
        };
        echo(&client, &cudx, skp.public_key, punch).await;
        let c1 = client.stats();
        assert_eq!(c1.connections.client_opened.get(Path::Holepunched), 1);
        assert_eq!(c1.connections.client_opened.total(), 1);
        assert_eq!(c1.punches.consistent, 1, "the client punched once");
        assert_eq!(c1.punches.open, 0);
        let s1 = until(&server, "server counts the punched connection", |s| {
            s.connections.server_opened.total() == 1
        })
        .await;
        assert_eq!(s1.connections.server_opened.get(Path::Holepunched), 1);
        assert_eq!(s1.punches.consistent, 1, "the server punched back");
        // the connect ran a FIND_PEER query and PEER_HANDSHAKE / PEER_HOLEPUNCH requests
        assert!(c1.rpc.queries_total > c0.rpc.queries_total);
        assert!(c1.rpc.command(false, 0).tx >= 1, "PEER_HANDSHAKE sent");
        assert!(c1.rpc.command(false, 1).tx >= 1, "PEER_HOLEPUNCH sent");
        assert!(c1.rpc.command(false, 2).tx >= 1, "FIND_PEER sent");
        assert!(s1.rpc.command(false, 0).received > s0.rpc.command(false, 0).received);
        assert!(c1.rpc.socket.bytes_out > c0.rpc.socket.bytes_out);
        assert!(s1.rpc.socket.bytes_in > s0.rpc.socket.bytes_in);

        // the LAN shortcut: same public host, the client PINGs the server's local address
        echo(&client, &cudx, skp.public_key, ConnectOptions::default()).await;
        let c2 = client.stats();
        assert_eq!(c2.connections.client_opened.get(Path::Lan), 1);
        assert_eq!(c2.punches.consistent, 1, "no punch this time");
        let s2 = until(&server, "server counts the LAN connection", |s| {
            s.connections.server_opened.total() == 2
        })
        .await;
        assert_eq!(s2.connections.server_opened.get(Path::Lan), 1);

        // nobody listens on this key: the connect fails before a path is chosen
        let nobody = KeyPair::generate();
        let err = client
            .connect(&cudx, &KeyPair::generate(), nobody.public_key)
            .await
            .err()
            .expect("no such server");
        assert_eq!(err.code(), "PEER_NOT_FOUND");
        let c3 = client.stats();
        assert_eq!(c3.connections.client_failed.get(Path::NotChosen), 1);
        assert_eq!(c3.connections.client_failed.total(), 1);
        assert_eq!(c3.connections.client_opened.total(), 2);

        server.unlisten(&skp).await;
        sdht.destroy().await;
        cdht.destroy().await;
    });
    js.finish();
}

#[test]
fn an_open_server_is_reached_directly() {
    if !in_netns("an_open_server_is_reached_directly") {
        return;
    }
    let js = JsHelper::spawn("client.js", &["8"]);
    let bootstrap = js.bootstrap();
    let rt = runtime();
    rt.block_on(async move {
        // a reachable server node (not firewalled): handshakes say FIREWALL.OPEN
        let sdht = Dht::new(DhtOptions {
            bootstrap: vec![format!("127.0.0.1:{bootstrap}")],
            host: "127.0.0.1".parse().unwrap(),
            ephemeral: Some(true),
            firewalled: false,
            ..DhtOptions::default()
        })
        .unwrap();
        sdht.ready().await.unwrap();
        let sudx = hyperdht_core::udx_on_dht(&sdht);
        let server = HyperDht::new(sdht.clone(), CacheOptions::default());
        server.attach_udx(sudx.clone());
        let (cdht, client, cudx) = rust_node_with(bootstrap, true).await;
        let skp = KeyPair::generate();
        echo_server(server.listen(sudx, &skp).await.expect("listening"));

        echo(&client, &cudx, skp.public_key, ConnectOptions::default()).await;
        let c = client.stats();
        assert_eq!(c.connections.client_opened.get(Path::Direct), 1);
        assert_eq!(
            c.punches.open, 1,
            "client: `punches.open` like lib/connect.js"
        );
        assert_eq!(c.punches.consistent, 0);
        let s = until(&server, "server counts the direct connection", |s| {
            s.connections.server_opened.total() == 1
        })
        .await;
        assert_eq!(s.connections.server_opened.get(Path::Direct), 1);
        assert_eq!(s.punches.consistent, 0);

        server.unlisten(&skp).await;
        sdht.destroy().await;
        cdht.destroy().await;
    });
    js.finish();
}
