//! `relayAddresses` and the relay-address cache (`hyperdht lib/connect.js: findAndConnect`):
//! a Rust client given a relay address reaches a server FIND_PEER cannot find; a later connect
//! to the same key reuses the address cached from the first; stale addresses fall back to the
//! query, and for an unknown key end in `PEER_NOT_FOUND`. Against JS and Rust servers. Runs
//! inside `unshare -rn` (loopback only).

mod common;

use std::net::SocketAddrV4;
use std::time::Duration;

use common::{hex32, in_netns, runtime, rust_node, v4, JsHelper};
use hyperdht_core::{
    udx_on_dht, CacheOptions, ConnectError, ConnectExtras, ConnectOptions, ConnectStats, HyperDht,
    ListenExtras, ListenOptions,
};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::{Dht, DhtOptions};
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connects with `extras`, checks the echo, closes; returns the stats delta.
async fn connect_echo(
    node: &HyperDht,
    udx: &UdxSocket,
    kp: &KeyPair,
    server: [u8; 32],
    extras: ConnectExtras,
) -> ConnectStats {
    let before = node.connect_stats();
    let mut conn = tokio::time::timeout(
        Duration::from_secs(20),
        node.connect_with_extras(udx, kp, server, ConnectOptions::default(), extras),
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
    let after = node.connect_stats();
    ConnectStats {
        find_peer_queries: after.find_peer_queries - before.find_peer_queries,
        via_relay_addresses: after.via_relay_addresses - before.via_relay_addresses,
        via_find_peer: after.via_find_peer - before.via_find_peer,
        via_route: after.via_route - before.via_route,
    }
}

fn relays(addrs: Vec<SocketAddrV4>) -> ConnectExtras {
    ConnectExtras {
        relay_addresses: addrs,
        ..ConnectExtras::default()
    }
}

/// A connect to a key nobody announced, through `addrs` as relay addresses: PEER_NOT_FOUND.
async fn connect_unknown_key(node: &HyperDht, udx: &UdxSocket, addrs: Vec<SocketAddrV4>) {
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        node.connect_with_extras(
            udx,
            &KeyPair::generate(),
            KeyPair::generate().public_key,
            ConnectOptions::default(),
            relays(addrs),
        ),
    )
    .await
    .expect("settles in time");
    assert_eq!(res.err(), Some(ConnectError::PeerNotFound));
}

/// Addresses on which nothing listens (stale relays).
fn stale() -> Vec<SocketAddrV4> {
    vec![
        "127.0.0.1:9".parse().unwrap(),
        "127.0.0.1:7".parse().unwrap(),
    ]
}

/// On a live testnet: the server's announced relay addresses work (which path answers first is
/// a race upstream too: the seeded FIND_PEER runs alongside and finds other record holders);
/// stale addresses fall back to FIND_PEER on a node with no cache entry for the key.
async fn exercise(
    bootstrap: u64,
    node: &HyperDht,
    udx: &UdxSocket,
    server: [u8; 32],
    given: Vec<SocketAddrV4>,
) {
    assert!(!given.is_empty(), "the server announced relay addresses");
    let kp = KeyPair::generate();
    let d = connect_echo(node, udx, &kp, server, relays(given)).await;
    assert_eq!(d.via_relay_addresses + d.via_find_peer, 1, "{d:?}");

    let (dht2, node2, udx2) = rust_node(bootstrap).await;
    let d = connect_echo(&node2, &udx2, &kp, server, relays(stale())).await;
    assert_eq!(d.via_find_peer, 1, "{d:?}");
    assert_eq!(d.via_relay_addresses, 0, "{d:?}");
    assert_eq!(node2.internal_counts().relay_cache, 1);
    dht2.destroy().await;
}

/// A server on a one-node network of its own: FIND_PEER over the testnet cannot find it, so
/// connects succeed only through the relay address given (here its own node), or, later,
/// through the address cached from that connect (upstream `_relayAddressesCache`).
async fn exercise_isolated(bootstrap: u64, server: [u8; 32], address: SocketAddrV4) {
    let (dht, node, udx) = rust_node(bootstrap).await;
    let kp = KeyPair::generate();
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        node.connect_with(&udx, &kp, server, ConnectOptions::default()),
    )
    .await
    .expect("settles in time");
    assert_eq!(
        res.err(),
        Some(ConnectError::PeerNotFound),
        "FIND_PEER alone"
    );

    let d = connect_echo(&node, &udx, &kp, server, relays(vec![address])).await;
    assert_eq!(d.via_relay_addresses, 1, "{d:?}");
    assert_eq!(d.via_find_peer, 0, "{d:?}");

    assert_eq!(node.internal_counts().relay_cache, 1);
    let d = connect_echo(&node, &udx, &kp, server, ConnectExtras::default()).await;
    assert_eq!(d.via_relay_addresses, 1, "cached: {d:?}");
    dht.destroy().await;
}

#[test]
fn relay_addresses_reach_isolated_js_server() {
    if !in_netns("relay_addresses_reach_isolated_js_server") {
        return;
    }
    let testnet = JsHelper::spawn("dht.js", &["6"]);
    let js = JsHelper::spawn("isolated_server.js", &[]);
    let server = hex32(&js.ready["publicKey"]);
    let address = v4(&js.ready["address"]);
    let bootstrap = testnet.bootstrap();
    runtime().block_on(exercise_isolated(bootstrap, server, address));
    js.finish();
    testnet.finish();
}

#[test]
fn relay_addresses_reach_isolated_rust_server() {
    if !in_netns("relay_addresses_reach_isolated_rust_server") {
        return;
    }
    let testnet = JsHelper::spawn("dht.js", &["6"]);
    let bootstrap = testnet.bootstrap();
    runtime().block_on(async move {
        let sdht = Dht::new(DhtOptions {
            bootstrap: Vec::new(),
            host: "127.0.0.1".parse().unwrap(),
            ephemeral: Some(false),
            ..DhtOptions::default()
        })
        .unwrap();
        sdht.ready().await.unwrap();
        let sudx = udx_on_dht(&sdht);
        let server = HyperDht::new(sdht.clone(), CacheOptions::default());
        server.attach_udx(sudx.clone());
        let skp = KeyPair::generate();
        let conns = server.listen(sudx, &skp).await.expect("listening");
        tokio::spawn(echo_all(conns));
        exercise_isolated(bootstrap, skp.public_key, sdht.server_address()).await;
        server.unlisten(&skp).await;
        sdht.destroy().await;
    });
    testnet.finish();
}

#[test]
fn relay_addresses_on_testnet_js_server() {
    if !in_netns("relay_addresses_on_testnet_js_server") {
        return;
    }
    let js = JsHelper::spawn("server.js", &["8"]);
    let server = hex32(&js.ready["publicKey"]);
    let given: Vec<SocketAddrV4> = js.ready["relayAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(v4)
        .collect();
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (dht, node, udx) = rust_node(bootstrap).await;
        exercise(bootstrap, &node, &udx, server, given).await;
        dht.destroy().await;
    });
    js.finish();
}

#[test]
fn relay_addresses_on_testnet_rust_server() {
    if !in_netns("relay_addresses_on_testnet_rust_server") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["8"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (sdht, server, sudx) = rust_node(bootstrap).await;
        let skp = KeyPair::generate();
        let conns = server
            .listen_with_extras(
                sudx,
                &skp,
                ListenOptions::default(),
                ListenExtras::default(),
            )
            .await
            .expect("listening");
        tokio::spawn(echo_all(conns));
        let given = server.relay_addresses(&skp.public_key);
        let (dht, node, udx) = rust_node(bootstrap).await;
        exercise(bootstrap, &node, &udx, skp.public_key, given).await;
        server.unlisten(&skp).await;
        dht.destroy().await;
        sdht.destroy().await;
    });
    js.finish();
}

/// Stale relay addresses for a key nobody serves: upstream's `PEER_NOT_FOUND` (only the
/// query's finds count as attempts).
#[test]
fn stale_relay_addresses_unknown_key() {
    if !in_netns("stale_relay_addresses_unknown_key") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["6"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (dht, node, udx) = rust_node(bootstrap).await;
        connect_unknown_key(&node, &udx, stale()).await;
        // seeded query, then the unseeded second try
        assert_eq!(node.connect_stats().find_peer_queries, 2);
        dht.destroy().await;
    });
    js.finish();
}

/// A relay address that does not answer ends the relay-address chain, as the error thrown out
/// of upstream's `connectThroughNodes` loop does: of three silent relay addresses only the first
/// gets PEER_HANDSHAKE requests (all three are asked by the seeded FIND_PEER). Trying each in
/// turn made a connect to a stale peer take 4 s per relay address.
#[test]
fn a_failed_relay_handshake_ends_the_chain() {
    if !in_netns("a_failed_relay_handshake_ends_the_chain") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["6"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let (dht, node, udx) = rust_node(bootstrap).await;
        let silent: Vec<std::net::UdpSocket> = (0..3)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let addrs = silent
            .iter()
            .map(|s| match s.local_addr().expect("address") {
                std::net::SocketAddr::V4(a) => a,
                a => panic!("{a}"),
            })
            .collect();
        connect_unknown_key(&node, &udx, addrs).await;
        let handshakes: Vec<usize> = silent
            .iter()
            .map(|s| {
                s.set_nonblocking(true).expect("nonblocking");
                let mut buf = [0u8; 2048];
                let mut n = 0;
                while let Ok(len) = s.recv(&mut buf) {
                    if let Some(hyperdht_rpc::messages::Frame::Request(r)) =
                        hyperdht_rpc::messages::decode(&buf[..len])
                    {
                        n += usize::from(r.command == hyperdht_core::Command::PeerHandshake.code());
                    }
                }
                n
            })
            .collect();
        assert!(
            handshakes[0] > 0,
            "the first relay address was tried: {handshakes:?}"
        );
        assert_eq!(&handshakes[1..], [0, 0], "the chain ended there");
        dht.destroy().await;
    });
    js.finish();
}

/// Echoes "hello" → "echo:hello" on every accepted connection.
pub async fn echo_all(mut conns: tokio::sync::mpsc::Receiver<hyperdht_core::server::Connection>) {
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
