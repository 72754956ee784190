//! The tokio driver on real 127.0.0.1 sockets: application request handler (immediate and
//! deferred replies, tokens), foreign datagram routing, malformed-datagram counting, sessions,
//! and socket release on destroy.

use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_rpc::driver::{Dht, DhtOptions, RequestHandler, Responder};
use hyperdht_rpc::messages::error_code;
use hyperdht_rpc::node::{IncomingRequest, Node, Reply, RequestSpec, SocketKind};
use hyperdht_rpc::RpcError;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

mod common;
use common::{bootstrapper, LOCALHOST};

/// Echo handler: command 7 replies at once with the value (token + closer nodes, like
/// `req.reply`); command 8 replies later from another task; command 9 is dropped silently.
struct Handler {
    dht: Arc<Mutex<Option<Dht>>>,
    seen_tokens: Arc<Mutex<Vec<Option<[u8; 32]>>>>,
}

impl RequestHandler for Handler {
    fn on_request(&mut self, req: IncomingRequest, node: &mut Node) -> bool {
        self.seen_tokens.lock().unwrap().push(req.token);
        match req.command {
            7 => {
                node.reply(&req, Reply::value(req.value.clone()));
                true
            }
            8 => {
                let Some(dht) = self.dht.lock().unwrap().clone() else {
                    return false;
                };
                let r = Responder::new(dht, req);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    r.reply(Reply::value(Some(b"later".to_vec())));
                });
                true
            }
            9 => true,
            10 => {
                // a Responder used synchronously inside the handler must not deadlock
                let Some(dht) = self.dht.lock().unwrap().clone() else {
                    return false;
                };
                Responder::new(dht, req).reply(Reply::value(Some(b"inline".to_vec())));
                true
            }
            _ => false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_handler_tokens_foreign_and_sessions() {
    let (b, baddr) = bootstrapper().await;
    b.ready().await.unwrap();
    let shared = Arc::new(Mutex::new(Some(b.clone())));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    b.set_request_handler(Box::new(Handler {
        dht: shared.clone(),
        seen_tokens: tokens.clone(),
    }));
    let (ftx, mut frx) = mpsc::channel(16);
    let b2 = b.clone();
    b.set_foreign_datagram_handler(Box::new(move |sock, from, data| {
        // calling back into the node from the handler must not deadlock
        let _ = b2.stats();
        let _ = ftx.try_send((sock, from, data.to_vec()));
    }));

    let c = Dht::bind(DhtOptions {
        bootstrap: vec![baddr.to_string()],
        host: LOCALHOST,
        ephemeral: Some(true),
        ..DhtOptions::default()
    })
    .await
    .unwrap();
    c.ready().await.unwrap();

    // immediate application reply with a token
    let mut spec = RequestSpec::new(baddr, false, 7);
    spec.value = Some(b"hello".to_vec());
    spec.target = Some([9; 32]);
    let res = c.request(spec.clone()).await.unwrap();
    assert_eq!(res.error, 0);
    assert_eq!(res.value.as_deref(), Some(&b"hello"[..]));
    assert!(
        b.id().is_some(),
        "bootstrapper on a random port is persistent"
    );
    assert_eq!(res.from_id, b.id(), "bootstrapper replies with its id");
    let token = res.token.expect("req.reply carries a token");
    // the token round-trips and reaches the handler
    spec.token = Some(token);
    let res = c.request(spec.clone()).await.unwrap();
    assert_eq!(res.error, 0);
    assert_eq!(tokens.lock().unwrap().last().copied(), Some(Some(token)));
    // a forged token is answered with INVALID_TOKEN + a fresh token, never dispatched
    let before = tokens.lock().unwrap().len();
    spec.token = Some([0xee; 32]);
    let res = c.request(spec.clone()).await.unwrap();
    assert_eq!(res.error, error_code::INVALID_TOKEN);
    assert_eq!(
        res.error_code(),
        Some(hyperdht_rpc::messages::ErrorCode::InvalidToken)
    );
    assert_eq!(res.token, Some(token));
    assert_eq!(tokens.lock().unwrap().len(), before);
    // unhandled command -> UNKNOWN_COMMAND
    let res = c.request(RequestSpec::new(baddr, false, 42)).await.unwrap();
    assert_eq!(res.error, error_code::UNKNOWN_COMMAND);
    // deferred reply through a Responder
    let res = c.request(RequestSpec::new(baddr, false, 8)).await.unwrap();
    assert_eq!(res.value.as_deref(), Some(&b"later"[..]));
    let res = c.request(RequestSpec::new(baddr, false, 10)).await.unwrap();
    assert_eq!(res.value.as_deref(), Some(&b"inline"[..]));
    // silently dropped request times out after retries (short per-attempt timeout)
    let mut spec = RequestSpec::new(baddr, false, 9);
    spec.timeout = Some(Duration::from_millis(50));
    spec.retries = 1;
    assert_eq!(c.request(spec).await.unwrap_err(), RpcError::RequestTimeout);

    // foreign datagrams (1-byte probe, UDX-looking packet) reach the foreign handler;
    // malformed dht frames are dropped and counted, never answered
    let raw = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let dropped = b.stats().dropped;
    raw.send_to(&[0x00], baddr).await.unwrap();
    let udx = [
        0xffu8, 0x01, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    raw.send_to(&udx, baddr).await.unwrap();
    raw.send_to(&[0x03, 0xfd], baddr).await.unwrap();
    let (sock, from, data) = tokio::time::timeout(Duration::from_secs(5), frx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((sock, data), (SocketKind::Server, vec![0x00]));
    assert_eq!(from.port(), raw.local_addr().unwrap().port());
    let (_, _, data) = frx.recv().await.unwrap();
    assert_eq!(data, udx.to_vec());
    let mut buf = [0u8; 64];
    // a ping after the garbage is still answered, and the garbage got no answer
    let ping = hyperdht_rpc::messages::RequestFrame {
        tid: 5,
        to: baddr,
        id: None,
        token: None,
        internal: true,
        command: 0,
        target: None,
        value: None,
    }
    .encode();
    raw.send_to(&ping, baddr).await.unwrap();
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(buf[0], 0x13);
    assert_eq!(
        u16::from_le_bytes([buf[2], buf[3]]),
        5,
        "reply to the ping, not the garbage"
    );
    assert!(n >= 10);
    assert_eq!(b.stats().dropped, dropped + 1, "malformed frame counted");

    // send_raw goes out on the chosen socket
    c.send_raw(
        SocketKind::Client,
        SocketAddrV4::new(LOCALHOST, raw.local_addr().unwrap().port()),
        vec![1, 2, 3],
    );
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &[1, 2, 3]);
    assert_eq!(from.port(), c.client_address().port());

    // session.destroy() fails its in-flight requests at once
    let silent = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let silent_addr = SocketAddrV4::new(LOCALHOST, silent.local_addr().unwrap().port());
    let session = c.session();
    let s2 = session.clone();
    let pending = tokio::spawn(async move { s2.ping(silent_addr).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    session.destroy();
    let r = tokio::time::timeout(Duration::from_secs(1), pending)
        .await
        .expect("destroyed session ends its requests promptly")
        .unwrap();
    assert_eq!(r.unwrap_err(), RpcError::RequestDestroyed);

    // destroy releases the sockets even though handles (and the handler's clone) remain
    let port = b.server_address().port();
    let t = std::time::Instant::now();
    c.destroy().await;
    b.destroy().await;
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "destroy is prompt: {:?}",
        t.elapsed()
    );
    assert!(b.is_destroyed());
    assert_eq!(b.ping(baddr).await.unwrap_err(), RpcError::Destroyed);
    let rebound = Dht::bind(DhtOptions {
        port,
        any_port: false,
        host: LOCALHOST,
        ..DhtOptions::default()
    })
    .await
    .expect("port free again after destroy");
    rebound.destroy().await;
    drop(shared);
}

/// Stores on command 21 only with a valid token; command 20 is the read that hands tokens out.
struct Store;

impl RequestHandler for Store {
    fn on_request(&mut self, req: IncomingRequest, node: &mut Node) -> bool {
        match req.command {
            20 => node.reply(&req, Reply::value(None)),
            21 if req.token.is_some() => node.reply(&req, Reply::value(Some(b"stored".to_vec()))),
            21 => node.reply(&req, Reply::error(99)),
            _ => return false,
        }
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_then_commit_with_tokens() {
    let (b, baddr) = bootstrapper().await;
    b.ready().await.unwrap();
    b.set_request_handler(Box::new(Store));
    let mut peers = Vec::new();
    for _ in 0..4 {
        let p = Dht::bind(DhtOptions {
            bootstrap: vec![baddr.to_string()],
            host: LOCALHOST,
            ephemeral: Some(false),
            ..DhtOptions::default()
        })
        .await
        .unwrap();
        p.ready().await.unwrap();
        assert!(
            p.id().is_some(),
            "persistent on a reachable loopback network"
        );
        p.set_request_handler(Box::new(Store));
        peers.push(p);
    }
    let c = Dht::bind(DhtOptions {
        bootstrap: vec![baddr.to_string()],
        host: LOCALHOST,
        ephemeral: Some(true),
        ..DhtOptions::default()
    })
    .await
    .unwrap();
    c.ready().await.unwrap();

    let params = hyperdht_rpc::QueryParams {
        target: [0x42; 32],
        command: 20,
        internal: false,
        value: None,
        concurrency: None,
        nodes: Vec::new(),
        only_closest_nodes: false,
        force: false,
    };
    let mut q = c.query(params.clone());
    let mut replies = 0;
    while let Some(ev) = q.next().await {
        if let hyperdht_rpc::QueryEvent::Reply(r) = ev {
            assert!(r.token.is_some(), "application replies carry tokens");
            replies += 1;
        }
    }
    assert!(q.error().is_none());
    let closest = q.closest_replies().to_vec();
    assert_eq!(closest.len(), 5, "bootstrapper + 4 persistent nodes");
    assert!(replies >= 5);
    assert_eq!(q.closest_nodes().len(), 5);
    // closest first by XOR distance to the target
    for w in closest.windows(2) {
        let d = |r: &hyperdht_rpc::Response| {
            let id = r.from_id.unwrap();
            let mut x = [0u8; 32];
            for i in 0..32 {
                x[i] = id[i] ^ 0x42;
            }
            x
        };
        assert!(d(&w[0]) < d(&w[1]));
    }

    // commit with the tokens: every node stores
    let stored = c
        .commit(&closest, |r| {
            let mut spec = RequestSpec::new(r.from, false, 21);
            spec.token = r.token;
            spec.target = Some(params.target);
            Some(spec)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 5);
    assert!(stored
        .iter()
        .all(|r| r.error == 0 && r.value.as_deref() == Some(&b"stored"[..])));
    // without tokens the handler refuses (the request still "succeeds" with an error code)
    let refused = c
        .commit(&closest, |r| Some(RequestSpec::new(r.from, false, 21)))
        .await
        .unwrap();
    assert!(refused.iter().all(|r| r.error == 99));
    assert_eq!(
        c.commit(&[], |_| None).await.unwrap_err(),
        RpcError::TooFewNodes
    );

    for p in &peers {
        p.destroy().await;
    }
    c.destroy().await;
    b.destroy().await;
}

/// Bootstrap entries as upstream accepts them: `ip:port`, `hostname:port` and
/// `suggestedIP@hostname:port` (suggested IP used if it answers a PING, else DNS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_entry_forms_resolve_like_upstream() {
    // bound to 127.0.0.1 only, so nothing answers on 127.0.0.9
    let mut opts = DhtOptions::bootstrapper(0, LOCALHOST);
    opts.host = LOCALHOST;
    let b = Dht::bind(opts).await.unwrap();
    let baddr = b.server_address();
    b.ready().await.unwrap();
    let port = baddr.port();
    for (entry, slow) in [
        (format!("localhost:{port}"), false),
        (format!("127.0.0.1@localhost:{port}"), false),
        // nothing answers on 127.0.0.9: after the PING times out, fall back to DNS
        (format!("127.0.0.9@localhost:{port}"), true),
    ] {
        let t = std::time::Instant::now();
        let c = Dht::bind(DhtOptions {
            bootstrap: vec![entry.clone()],
            host: LOCALHOST,
            // ephemeral clients: a destroyed persistent client would linger in the
            // bootstrapper's table and slow the next bootstrap down (as in JS)
            ephemeral: Some(true),
            ..DhtOptions::default()
        })
        .await
        .unwrap();
        tokio::time::timeout(Duration::from_secs(15), c.ready())
            .await
            .expect("bootstraps")
            .unwrap();
        assert!(
            c.to_array(0).iter().any(|n| n.addr == baddr),
            "{entry}: bootstrapper in table"
        );
        assert_eq!(t.elapsed() > Duration::from_secs(3), slow, "{entry}");
        c.destroy().await;
    }
    b.destroy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume() {
    let (b, baddr) = bootstrapper().await;
    b.ready().await.unwrap();
    let c = Dht::bind(DhtOptions {
        bootstrap: vec![baddr.to_string()],
        host: LOCALHOST,
        ephemeral: Some(true),
        ..DhtOptions::default()
    })
    .await
    .unwrap();
    c.ready().await.unwrap();
    let caddr = SocketAddrV4::new(LOCALHOST, c.server_address().port());
    // a request pending at suspend time fails with Suspended
    let silent = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let silent_addr = SocketAddrV4::new(LOCALHOST, silent.local_addr().unwrap().port());
    let b2 = b.clone();
    let pending = tokio::spawn(async move { b2.ping(silent_addr).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    b.suspend().await;
    assert!(b.is_suspended());
    assert_eq!(pending.await.unwrap().unwrap_err(), RpcError::Suspended);
    // a request made while suspended runs and times out (dht-rpc sends it on its closed
    // socket): c, which would answer, hears nothing
    let mut to_c = RequestSpec::new(caddr, true, 0);
    to_c.timeout = Some(Duration::from_millis(100));
    to_c.retries = 1;
    let t = std::time::Instant::now();
    assert_eq!(
        b.request(to_c.clone()).await.unwrap_err(),
        RpcError::RequestTimeout
    );
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "both tries timed out"
    );
    // a suspended node ignores DHT traffic
    let mut spec = RequestSpec::new(baddr, true, 0);
    spec.timeout = Some(Duration::from_millis(100));
    spec.retries = 0;
    assert_eq!(
        c.request(spec.clone()).await.unwrap_err(),
        RpcError::RequestTimeout
    );
    // one still waiting at resume is sent again then (dht-rpc `_rebind`) and answered
    to_c.timeout = Some(Duration::from_secs(20));
    to_c.retries = 0;
    let b3 = b.clone();
    let waiting = tokio::spawn(async move { b3.request(to_c).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    b.resume().await;
    let t = std::time::Instant::now();
    assert!(waiting.await.unwrap().is_ok(), "re-sent at resume");
    assert!(t.elapsed() < Duration::from_secs(10), "not by a timeout");
    assert!(!b.is_suspended());
    let res = c.request(spec).await.expect("answered after resume");
    assert_eq!(
        res.from_id,
        b.id(),
        "non-adaptive bootstrapper stays persistent"
    );
    assert!(b.ping(caddr).await.is_ok());
    c.destroy().await;
    b.destroy().await;
}
