//! Blind relays through the Rust API (`hyperdht lib/connect.js: relayConnection`,
//! `lib/server.js: _relayConnection`, `lib/relay-connection.js`): a connection opens through a
//! relay while the holepunch is held back (the client's `holepunch` veto waits), carries data
//! there, then upgrades to the punched path when the veto lets the punch go — the stream the app
//! holds keeps working across the switch, no byte lost or duplicated — and both relay
//! connections are closed once the direct path carried a datagram. The relay here is a bare UDX
//! socket whose two streams relay to each other (what a blind-relay server does); the pairing
//! protocol itself is tested end to end against the npm `blind-relay` package in
//! `__test__/relay.test.js`. Runs inside `unshare -rn`.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{in_netns, runtime, rust_node_with, JsHelper};
use hyperdht_core::{
    ConnectExtras, ConnectOptions, HolepunchVeto, ListenExtras, ListenOptions, RelayLink,
    RelayPaired, RelayRequest, Relayer,
};
use hyperdht_crypto::KeyPair;
use hyperdht_udx::{UdxSocket, UdxStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};

/// A pairing request waiting for its counterpart, and where its answer goes.
type Waiting = (RelayRequest, oneshot::Sender<u32>);

/// A blind relay in-process: pairs the two requests with the same token by linking two streams
/// of its own socket; counts the relay connections closed (links dropped).
struct TestRelay {
    socket: UdxSocket,
    waiting: Mutex<HashMap<[u8; 32], Waiting>>,
    streams: Mutex<Vec<UdxStream>>,
    closed: Arc<AtomicUsize>,
    next_id: Mutex<u32>,
}

impl TestRelay {
    fn relayer(self: &Arc<Self>) -> Relayer {
        let relay = self.clone();
        Relayer(Arc::new(move |req: RelayRequest| {
            let relay = relay.clone();
            Box::pin(async move {
                let rx = relay.pair(req);
                let remote_id = rx.await.ok()?;
                let closed = relay.closed.clone();
                Some(RelayPaired {
                    addr: relay.socket.local_addr().ok()?,
                    remote_id,
                    link: RelayLink::new(move || {
                        closed.fetch_add(1, Ordering::SeqCst);
                    }),
                })
            })
        }))
    }

    /// The relay's stream id for `req` arrives once its counterpart asked too.
    fn pair(&self, req: RelayRequest) -> oneshot::Receiver<u32> {
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.waiting.lock().unwrap();
        let Some((other, other_tx)) = waiting.remove(&req.token) else {
            waiting.insert(req.token, (req, tx));
            return rx;
        };
        assert_ne!(
            other.is_initiator, req.is_initiator,
            "one initiator per pair"
        );
        let mut ids = self.next_id.lock().unwrap();
        let a = self.link_stream(*ids, req.stream_id);
        let b = self.link_stream(*ids + 1, other.stream_id);
        a.relay_to(&b);
        b.relay_to(&a);
        let _ = tx.send(*ids);
        let _ = other_tx.send(*ids + 1);
        *ids += 2;
        self.streams.lock().unwrap().extend([a, b]);
        rx
    }

    /// A relay stream that connects to whoever first sends to it (its peer's stream id known).
    fn link_stream(&self, id: u32, peer_stream: u32) -> UdxStream {
        self.socket.accept(
            id,
            Box::new(move |from: SocketAddr| Some((peer_stream, from))),
        )
    }
}

/// The punch waits until `go` is notified (the client's `holepunch` veto).
fn held_punch(go: Arc<Notify>) -> HolepunchVeto {
    HolepunchVeto::new(move |_| {
        let go = go.clone();
        Box::pin(async move {
            go.notified().await;
            true
        })
    })
}

/// Bytes `i..i+n` of a pattern that shows loss, duplication and reordering.
fn pattern(start: usize, n: usize) -> Vec<u8> {
    (start..start + n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn relayed_connection_upgrades_to_the_punched_path() {
    if !in_netns("relayed_connection_upgrades_to_the_punched_path") {
        return;
    }
    let js = JsHelper::spawn("client.js", &["8"]);
    let bootstrap = js.bootstrap();
    runtime().block_on(async move {
        let relay = Arc::new(TestRelay {
            socket: UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
            waiting: Mutex::default(),
            streams: Mutex::default(),
            closed: Arc::default(),
            next_id: Mutex::new(1000),
        });
        let (sdht, server, sudx) = rust_node_with(bootstrap, true).await;
        let (cdht, client, cudx) = rust_node_with(bootstrap, true).await;
        let relay_addr = relay.socket.local_addr().unwrap();

        let skp = KeyPair::generate();
        let extras = ListenExtras {
            relay_through: Some([7; 32]),
            relayer: Some(relay.relayer()),
            ..ListenExtras::default()
        };
        let mut conns = server
            .listen_with_extras(sudx.clone(), &skp, ListenOptions::default(), extras)
            .await
            .expect("listening");
        // the server echoes everything
        let server_side = tokio::spawn(async move {
            let mut c = conns.recv().await.expect("a connection");
            let on_relay = c.get_ref().remote() == Some(relay_addr);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = c.read(&mut buf).await.expect("server read");
                if n == 0 {
                    break;
                }
                c.write_all(&buf[..n]).await.expect("server write");
            }
            c.shutdown().await.ok();
            (on_relay, c.get_ref().remote(), c.get_ref().local_id())
        });

        let go = Arc::new(Notify::new());
        let opts = ConnectOptions {
            local_connection: false,
            fast_open: false,
        };
        let cextras = ConnectExtras {
            holepunch: Some(held_punch(go.clone())),
            relayer: Some(relay.relayer()),
            noise: None,
            ..ConnectExtras::default()
        };
        let conn = tokio::time::timeout(
            Duration::from_secs(20),
            client.connect_with_extras(&cudx, &KeyPair::generate(), skp.public_key, opts, cextras),
        )
        .await
        .expect("connect in time")
        .expect("connected through the relay");
        assert_eq!(conn.get_ref().remote(), Some(relay_addr), "starts relayed");

        // data flows through the relay, then keeps flowing while the punch happens
        let total = 4 * 1024 * 1024;
        let chunk = 32 * 1024;
        let (mut rd, mut wr) = tokio::io::split(conn);
        let writer = tokio::spawn(async move {
            let mut sent = 0;
            while sent < total {
                wr.write_all(&pattern(sent, chunk)).await.unwrap();
                sent += chunk;
                if sent == chunk {
                    // the first chunk went through the relay: let the punch go
                    go.notify_one();
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            wr.shutdown().await.unwrap();
            wr
        });
        let mut got = Vec::with_capacity(total);
        tokio::time::timeout(Duration::from_secs(60), rd.read_to_end(&mut got))
            .await
            .expect("echo in time")
            .expect("echo");
        assert_eq!(got.len(), total, "every byte echoed once");
        assert!(
            got == pattern(0, total),
            "no byte lost, duplicated or reordered"
        );
        let wr = writer.await.unwrap();
        let conn = rd.unsplit(wr);

        let client_remote = conn.get_ref().remote().expect("a remote");
        assert_ne!(client_remote, relay_addr, "the client moved off the relay");
        assert_eq!(
            client_remote,
            SocketAddr::V4(sdht.server_address()),
            "to the server's socket"
        );
        let (server_started_relayed, server_remote, server_stream) = server_side.await.unwrap();
        assert!(
            server_started_relayed,
            "the server's stream started on the relay"
        );
        assert_eq!(
            server_remote,
            Some(SocketAddr::V4(cdht.server_address())),
            "server moved to the client (client socket {})",
            cdht.client_address()
        );
        // both relay connections closed once the direct path was heard
        for _ in 0..100 {
            if relay.closed.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            relay.closed.load(Ordering::SeqCst),
            2,
            "both relay links closed"
        );
        // both connections say how they were made: relayed through [7; 32], then upgraded
        for (node, id) in [
            (&client, conn.get_ref().local_id()),
            (&server, server_stream),
        ] {
            let info = node
                .path_info(id)
                .expect("path recorded")
                .lock()
                .unwrap()
                .clone();
            assert_eq!(info.path, hyperdht_core::stats::Path::Relayed);
            assert!(info.upgraded, "marked upgraded: {info:?}");
            assert_eq!(info.relay_through, Some([7; 32]));
        }
        assert_eq!(
            client.stats().relaying.upgrades,
            1,
            "the client counts its upgrade"
        );
        let stats = server.stats();
        assert_eq!(
            (
                stats.relaying.attempts,
                stats.relaying.successes,
                stats.relaying.aborts
            ),
            (1, 1, 0)
        );
        drop(conn);
        server.unlisten(&skp).await;
        sdht.destroy().await;
        cdht.destroy().await;
    });
    js.finish();
}
