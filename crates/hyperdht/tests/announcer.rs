//! The server announcer against a JS testnet: after `listen` the closest nodes hold our forward
//! and JS `findPeer` replies come from exactly the relay nodes the server advertises;
//! `lookup(hash(pk))` lists the key; suspend unannounces, resume re-announces, `unlisten`
//! removes the record. Runs inside `unshare -rn` (loopback only).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddrV4;
use std::time::Duration;

use common::{in_netns, runtime, rust_node, v4, JsHelper};
use hyperdht_crypto::{hash, KeyPair};

/// Runs a helper command on a blocking thread and returns the JSON after `prefix`.
async fn ask(js: JsHelper, line: String, prefix: &'static str) -> (serde_json::Value, JsHelper) {
    tokio::task::spawn_blocking(move || {
        let mut js = js;
        js.send(&line);
        (js.expect(prefix), js)
    })
    .await
    .unwrap()
}

/// The nodes answering a JS findPeer for `pk` with a record for `pk`.
async fn find_peer(js: JsHelper, pk: &[u8; 32]) -> (BTreeSet<SocketAddrV4>, JsHelper) {
    let line = format!(r#"{{"op":"findPeer","publicKey":"{}"}}"#, hex::encode(pk));
    let (v, js) = ask(js, line, "FINDPEER ").await;
    let mut from = BTreeSet::new();
    for r in v.as_array().unwrap() {
        assert_eq!(r["publicKey"].as_str().unwrap(), hex::encode(pk));
        assert_eq!(
            r["relayAddresses"],
            serde_json::json!([]),
            "forward records carry no relays"
        );
        from.insert(v4(&r["from"]));
    }
    (from, js)
}

#[test]
fn js_find_peer_sees_rust_server_relays() {
    if !in_netns("js_find_peer_sees_rust_server_relays") {
        return;
    }
    let js = JsHelper::spawn("dht.js", &["8"]);
    let bootstrap = js.bootstrap();
    let rt = runtime();
    rt.block_on(async move {
        let (dht, node, udx) = rust_node(bootstrap).await;
        let kp = KeyPair::generate();
        let pk = kp.public_key;
        let _conns = node.listen(udx, &kp).await.expect("listening");

        let relays: BTreeSet<SocketAddrV4> = node.relay_addresses(&pk).into_iter().collect();
        let own = dht.remote_address();
        let nodes: BTreeSet<SocketAddrV4> = relays
            .iter()
            .copied()
            .filter(|a| Some(*a) != own || dht.is_firewalled())
            .collect();
        assert!(
            !nodes.is_empty() && relays.len() <= 3,
            "relay addresses after listen: {relays:?}"
        );
        let (from, js) = find_peer(js, &pk).await;
        // up to 3 nodes accept the announce; an unfirewalled server lists its own address
        // first, so it advertises only 2 of them (upstream `_commit`)
        assert!(
            from.is_superset(&nodes) && from.len() <= 3,
            "findPeer answers come from our relay nodes: {from:?} vs {relays:?}"
        );

        let line = format!(r#"{{"op":"lookup","topic":"{}"}}"#, hex::encode(hash(&pk)));
        let (v, js) = ask(js, line, "LOOKUP ").await;
        let listed = v.as_array().unwrap().iter().any(|r| {
            r["peers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["publicKey"].as_str() == Some(hex::encode(pk).as_str()))
        });
        assert!(listed, "lookup(hash(pk)) lists the server: {v}");

        // suspend unannounces from the relays; resume announces again
        node.suspend_server(&pk).await;
        let (from, js) = find_peer(js, &pk).await;
        assert!(from.is_empty(), "suspended: {from:?}");
        node.resume_server(&pk).await;
        let mut js = js;
        let mut found = BTreeSet::new();
        for _ in 0..20 {
            let (f, j) = find_peer(js, &pk).await;
            js = j;
            if !f.is_empty() {
                found = f;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(!found.is_empty(), "announced again after resume");

        node.refresh(&pk);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!node.relay_addresses(&pk).is_empty());

        node.unlisten(&kp).await;
        let (from, js) = find_peer(js, &pk).await;
        assert!(from.is_empty(), "record gone after unlisten: {from:?}");
        assert!(node.relay_addresses(&pk).is_empty());
        dht.destroy().await;
        tokio::task::spawn_blocking(move || js.finish())
            .await
            .unwrap();
    });
}
