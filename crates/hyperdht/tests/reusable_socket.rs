//! `reusableSocket` (`hyperdht lib/connect.js: retryRoute`, `lib/socket-pool.js: SocketRoutes`):
//! when both sides ask for it, the client remembers the connection's remote address as a route
//! for the key, and its next connect with the option handshakes straight to that address (no
//! relay, no holepunch). Against a JS server and a Rust server. Runs inside `unshare -rn`.

mod common;

use std::time::Duration;

use common::{hex32, in_netns, runtime, rust_node, JsHelper};
use hyperdht_core::{ConnectExtras, ConnectOptions, HyperDht, ListenExtras, ListenOptions};
use hyperdht_crypto::KeyPair;
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REUSABLE: ConnectExtras = ConnectExtras {
    relay_addresses: Vec::new(),
    reusable_socket: true,
    holepunch: None,
    lan_ping: None,
    relay_through: None,
    relayer: None,
    noise: None,
};

async fn connect_echo(node: &HyperDht, udx: &UdxSocket, kp: &KeyPair, server: [u8; 32]) {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(20),
        node.connect_with_extras(udx, kp, server, ConnectOptions::default(), REUSABLE),
    )
    .await
    .expect("connect in time")
    .expect("connected");
    conn.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 10];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(&buf, b"echo:hello");
    conn.shutdown().await.unwrap();
}

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

#[test]
fn reusable_socket_route_to_js_server() {
    if !in_netns("reusable_socket_route_to_js_server") {
        return;
    }
    let js = JsHelper::spawn("server.js", &["8", "reusable"]);
    let server = hex32(&js.ready["publicKey"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (dht, node, udx) = rust_node(bootstrap).await;
        let kp = KeyPair::generate();
        connect_echo(&node, &udx, &kp, server).await;
        assert_eq!(
            node.internal_counts().routes,
            1,
            "the JS server is reusable"
        );
        assert_eq!(node.connect_stats().via_route, 0);
        connect_echo(&node, &udx, &kp, server).await;
        assert_eq!(
            node.connect_stats().via_route,
            1,
            "second connect used the route"
        );
        dht.destroy().await;
    });
    js.finish();
}

#[test]
fn reusable_socket_route_to_rust_server() {
    if !in_netns("reusable_socket_route_to_rust_server") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["8"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (sdht, server, sudx) = rust_node(bootstrap).await;
        let (dht, node, udx) = rust_node(bootstrap).await;
        let kp = KeyPair::generate();

        // a server without reusableSocket: no route on either side
        let plain = KeyPair::generate();
        let conns = server
            .listen_with(sudx.clone(), &plain, ListenOptions::default())
            .await
            .expect("listening");
        tokio::spawn(echo_all(conns));
        connect_echo(&node, &udx, &kp, plain.public_key).await;
        assert_eq!(node.internal_counts().routes, 0);
        assert_eq!(server.internal_counts().routes, 0);

        // both sides reusable: routes on both sides, the second connect goes straight there
        let skp = KeyPair::generate();
        let extras = ListenExtras {
            reusable_socket: true,
            ..ListenExtras::default()
        };
        let conns = server
            .listen_with_extras(sudx, &skp, ListenOptions::default(), extras)
            .await
            .expect("listening");
        tokio::spawn(echo_all(conns));
        connect_echo(&node, &udx, &kp, skp.public_key).await;
        assert_eq!(node.internal_counts().routes, 1);
        assert_eq!(
            server.internal_counts().routes,
            1,
            "route to the client key"
        );
        connect_echo(&node, &udx, &kp, skp.public_key).await;
        assert_eq!(node.connect_stats().via_route, 1);
        server.unlisten(&skp).await;
        server.unlisten(&plain).await;
        dht.destroy().await;
        sdht.destroy().await;
    });
    js.finish();
}
