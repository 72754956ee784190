//! The client connect state machine (`core/connect/`) driven without IO: sans-IO rpc nodes,
//! each hosting a `Core` the way the rpc driver does, on an in-memory network with a virtual
//! clock. Covers the direct path through FIND_PEER, PEER_NOT_FOUND, cancellation, the passive
//! timeout and a full holepunch (probe round, punch round, probes) through a relay.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyperdht_core::core::connect::{ConnectError, ConnectOut, ConnectParams};
use hyperdht_core::core::server::{ServerConfig, ServerOut};
use hyperdht_core::core::{Core, Output};
use hyperdht_core::messages::Peer;
use hyperdht_core::noise_payload::RelayInfo;
use hyperdht_core::persistent::{Forward, Persistent, StorageLimits, WallClock};
use hyperdht_core::stats::{Path, Stats};
use hyperdht_crypto::{hash, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::driver::{QueryEvent, HANDLER_TAG};
use hyperdht_rpc::node::{Config, Event, Node, SocketKind};

struct Host {
    node: Node,
    core: Core,
    server: SocketAddrV4,
    client: SocketAddrV4,
    outputs: Vec<Output>,
}

struct Sim {
    now: Instant,
    peers: Vec<Host>,
    wire: VecDeque<(SocketAddrV4, SocketAddrV4, Vec<u8>)>,
    /// `fastOpen` of the connects started with [`Sim::connect`]
    fast_open: bool,
    /// a holepunch veto is set on those connects
    veto: bool,
}

fn addr(i: usize, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, i as u8 + 1), port)
}

impl Sim {
    fn new() -> Self {
        Sim {
            now: Instant::now(),
            peers: Vec::new(),
            wire: VecDeque::new(),
            fast_open: true,
            veto: false,
        }
    }

    /// A node with a core; `bootstrapper` seeds its public address.
    fn add(&mut self, cfg: Config, bootstrapper: bool) -> usize {
        let i = self.peers.len();
        let server = addr(i, 49737);
        let client = addr(i, 50000);
        let mut cfg = cfg;
        if bootstrapper {
            cfg.nat_seed = Some(server);
        }
        let mut node = Node::new(cfg, self.now);
        node.start(server.port(), self.now);
        let wall = WallClock {
            at: self.now,
            unix_ms: 1_700_000_000_000,
        };
        let store = Persistent::new(StorageLimits::from_options(None, None), self.now, wall);
        let core = Core::new(store, Arc::new(Stats::default()), vec![server]);
        self.peers.push(Host {
            node,
            core,
            server,
            client,
            outputs: Vec::new(),
        });
        i
    }

    fn find(&self, a: SocketAddrV4) -> Option<(usize, SocketKind)> {
        self.peers.iter().enumerate().find_map(|(i, p)| {
            if p.server == a {
                Some((i, SocketKind::Server))
            } else if p.client == a {
                Some((i, SocketKind::Client))
            } else {
                None
            }
        })
    }

    /// What the rpc driver does with a node's events when a core is its request handler.
    fn dispatch(&mut self, i: usize) -> bool {
        let now = self.now;
        let p = &mut self.peers[i];
        let mut any = false;
        while let Some(ev) = p.node.poll_event() {
            any = true;
            match ev {
                Event::Request(req) if !p.core.on_request(&req, &mut p.node, now) => {
                    p.node.reply(&req, hyperdht_rpc::node::Reply::error(1));
                }
                Event::Response { req, result } if req & HANDLER_TAG != 0 => {
                    p.core.on_response(req, result, &mut p.node, now);
                }
                Event::QueryReply { query, reply } if p.core.owns_query(query) => {
                    p.core
                        .on_query_event(query, QueryEvent::Reply(reply), &mut p.node, now);
                }
                Event::QueryDone {
                    query,
                    closest,
                    error,
                } if p.core.owns_query(query) => {
                    let ev = QueryEvent::Done { closest, error };
                    p.core.on_query_event(query, ev, &mut p.node, now);
                }
                _ => {}
            }
        }
        while let Some(o) = p.core.poll_output() {
            p.outputs.push(o);
        }
        any
    }

    fn pump(&mut self) {
        for _ in 0..200_000 {
            let mut busy = false;
            for i in 0..self.peers.len() {
                busy |= self.dispatch(i);
                let p = &mut self.peers[i];
                while let Some(t) = p.node.poll_transmit() {
                    let from = match t.socket {
                        SocketKind::Server => p.server,
                        SocketKind::Client => p.client,
                    };
                    self.wire.push_back((from, t.to, t.data));
                }
            }
            let Some((from, to, data)) = self.wire.pop_front() else {
                if busy {
                    continue;
                }
                return;
            };
            let Some((j, sock)) = self.find(to) else {
                continue;
            };
            let now = self.now;
            let p = &mut self.peers[j];
            if !p.node.handle_datagram(sock, from, &data, now) && data.len() == 1 {
                p.core.on_probe(sock, from, &mut p.node, now);
            }
        }
        panic!("network did not settle");
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = self
                .peers
                .iter()
                .flat_map(|p| [p.node.poll_timeout(), p.core.poll_timeout()])
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for p in self.peers.iter_mut() {
                        p.node.handle_timeout(now);
                        if p.core.poll_timeout().is_some_and(|t| t <= now) {
                            p.core.on_timeout(&mut p.node, now);
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }

    /// A bootstrapper plus `n` persistent, unfirewalled nodes.
    fn network(n: usize) -> Sim {
        let mut sim = Sim::new();
        let b = sim.add(
            Config {
                ephemeral: Some(false),
                adaptive: false,
                firewalled: false,
                ..Config::default()
            },
            true,
        );
        sim.advance(Duration::from_millis(10));
        for _ in 0..n {
            sim.add(node_cfg(sim.peers[b].server, false), false);
            sim.advance(Duration::from_millis(50));
        }
        sim.advance(Duration::from_secs(3));
        sim
    }

    fn connect(&mut self, i: usize, remote: [u8; 32], relays: Vec<SocketAddrV4>) -> u64 {
        let now = self.now;
        let p = &mut self.peers[i];
        let params = ConnectParams {
            key_pair: KeyPair::generate(),
            remote_public_key: remote,
            stream_id: 77,
            stream: 1,
            local_connection: false,
            fast_open: self.fast_open,
            reusable_socket: false,
            relay_addresses: relays,
            veto: self.veto,
            lan_ping: false,
            relay_through: None,
            external: false,
        };
        let id = p.core.connect(params, &mut p.node, now);
        while let Some(o) = p.core.poll_output() {
            p.outputs.push(o);
        }
        id
    }

    /// The connect outputs of node `i` so far (taken).
    fn connect_outs(&mut self, i: usize) -> Vec<ConnectOut> {
        let outs = std::mem::take(&mut self.peers[i].outputs);
        let mut rest = Vec::new();
        let mut mine = Vec::new();
        for o in outs {
            match o {
                Output::Connect(c) => mine.push(c),
                other => rest.push(other),
            }
        }
        self.peers[i].outputs = rest;
        mine
    }
}

fn node_cfg(boot: SocketAddrV4, firewalled: bool) -> Config {
    Config {
        bootstrap: vec![boot],
        ephemeral: Some(firewalled),
        adaptive: false,
        firewalled,
        quick_firewall: !firewalled,
        ..Config::default()
    }
}

fn done(
    outs: &[ConnectOut],
) -> Option<&Result<hyperdht_core::core::connect::Established, ConnectError>> {
    outs.iter().find_map(|o| match o {
        ConnectOut::Done { result, .. } => Some(result),
        _ => None,
    })
}

#[test]
fn finds_an_open_server_and_connects_directly() {
    let mut sim = Sim::network(6);
    let s = 3;
    let kp = KeyPair::generate();
    let now = sim.now;
    let p = &mut sim.peers[s];
    p.core
        .listen(&kp, ServerConfig::default(), &mut p.node, now);
    let c = 5;
    sim.connect(c, kp.public_key, Vec::new());
    sim.advance(Duration::from_secs(2));
    let outs = sim.connect_outs(c);
    let est = done(&outs).expect("done").as_ref().expect("connected");
    // the FIND_PEER reached the server's own node: we handshook with it directly
    assert_eq!(est.connect_to, Some(sim.peers[s].server));
    assert_eq!(est.path, Path::Direct);
    assert!(
        matches!(outs[0], ConnectOut::Handshaken { known: Some(a), .. } if a == sim.peers[s].server)
    );
    assert_eq!(sim.peers[c].core.connect_stats().find_peer_queries, 1);
    assert_eq!(sim.peers[c].core.connect_stats().via_find_peer, 1);
    // the server opened a stream to our id
    let opened = sim.peers[s].outputs.iter().any(|o| {
        matches!(
            o,
            Output::Server(ServerOut::OpenStream { remote_id: 77, .. })
        )
    });
    assert!(opened);
    assert!(sim.peers[c].core.connects.is_empty());
    assert_eq!(sim.peers[c].core.tags_in_flight(), 0);
    // the nodes we went through are cached for the next connect
    assert_eq!(sim.peers[c].core.internal_counts(sim.now).relay_cache, 1);
}

#[test]
fn unknown_key_is_not_found_and_a_cancelled_connect_says_nothing() {
    let mut sim = Sim::network(6);
    let c = 4;
    sim.connect(c, KeyPair::generate().public_key, Vec::new());
    let cancelled = sim.connect(c, KeyPair::generate().public_key, Vec::new());
    let now = sim.now;
    let p = &mut sim.peers[c];
    p.core.cancel_connect(cancelled, &mut p.node, now);
    sim.advance(Duration::from_secs(30));
    let outs = sim.connect_outs(c);
    assert_eq!(outs.len(), 1, "{outs:?}");
    assert!(matches!(
        &outs[0],
        ConnectOut::Done {
            id: 0,
            result: Err(ConnectError::PeerNotFound)
        }
    ));
    assert!(sim.peers[c].core.connects.is_empty());
    assert_eq!(sim.peers[c].core.tags_in_flight(), 0);
    let failed = sim.peers[c]
        .core
        .stats()
        .snapshot()
        .connections
        .client_failed;
    assert_eq!(failed.get(Path::NotChosen), 1);
}

/// A firewalled server behind relay node `r` (as its announce would have set up).
fn relayed_server(sim: &mut Sim, s: usize, r: usize) -> KeyPair {
    let kp = KeyPair::generate();
    let now = sim.now;
    let (server, relay) = (sim.peers[s].server, sim.peers[r].server);
    let p = &mut sim.peers[s];
    p.core
        .listen(&kp, ServerConfig::default(), &mut p.node, now);
    let srv = p.core.servers.get_mut(&hash(&kp.public_key)).unwrap();
    srv.relays = vec![RelayInfo {
        relay_address: relay,
        peer_address: server,
    }];
    let record = Peer {
        public_key: kp.public_key,
        relay_addresses: vec![relay],
    }
    .to_bytes();
    sim.peers[r].core.store.forwards.retain(
        hash(&kp.public_key),
        Forward {
            relay: Some(server),
            record,
        },
    );
    kp
}

#[test]
fn an_open_client_waits_passively_until_the_timeout() {
    let mut sim = Sim::network(6);
    let boot = sim.peers[0].server;
    let s = sim.add(node_cfg(boot, true), false);
    sim.advance(Duration::from_secs(2));
    assert!(sim.peers[s].node.is_firewalled());
    let kp = relayed_server(&mut sim, s, 2);
    let c = 5;
    assert!(
        sim.peers[c].node.remote_address().is_some(),
        "client is OPEN"
    );
    let relay = sim.peers[2].server;
    sim.connect(c, kp.public_key, vec![relay]);
    sim.advance(Duration::from_secs(1));
    let outs = sim.connect_outs(c);
    assert!(outs
        .iter()
        .any(|o| matches!(o, ConnectOut::AcceptPassive { remote_id, .. } if *remote_id != 0)));
    assert!(done(&outs).is_none());
    assert_eq!(sim.peers[c].core.connect_stats().via_relay_addresses, 1);
    sim.advance(Duration::from_secs(10));
    let outs = sim.connect_outs(c);
    assert!(matches!(
        done(&outs),
        Some(Err(ConnectError::HolepunchAborted))
    ));
    let failed = sim.peers[c]
        .core
        .stats()
        .snapshot()
        .connections
        .client_failed;
    assert_eq!(failed.get(Path::Direct), 1);
}

/// Both peers firewalled: probe round, punch round, probes. With fast open the server's
/// answer to our low-TTL session may get through before anyone punches; without it both sides
/// run their consistent probing.
#[test]
fn firewalled_peers_holepunch_through_a_relay() {
    for fast_open in [true, false] {
        let mut sim = Sim::network(6);
        sim.fast_open = fast_open;
        let boot = sim.peers[0].server;
        let s = sim.add(node_cfg(boot, true), false);
        let c = sim.add(node_cfg(boot, true), false);
        sim.advance(Duration::from_secs(2));
        assert!(sim.peers[s].node.is_firewalled() && sim.peers[c].node.is_firewalled());
        let kp = relayed_server(&mut sim, s, 2);
        let relay = sim.peers[2].server;
        sim.connect(c, kp.public_key, vec![relay]);
        sim.advance(Duration::from_secs(15));
        let outs = sim.connect_outs(c);
        let est = done(&outs).expect("done").as_ref().expect("punched");
        assert_eq!(est.path, Path::Holepunched);
        assert_eq!(est.connect_to, Some(sim.peers[s].server));
        let snap = sim.peers[c].core.stats().snapshot();
        assert_eq!(snap.connections.client_opened.get(Path::Holepunched), 1);
        if !fast_open {
            assert_eq!(snap.punches.consistent, 1, "the client punched");
        }
        // the client's puncher and connect are gone
        assert_eq!(sim.peers[c].core.punchers.live(), 0);
        assert!(sim.peers[c].core.connects.is_empty());
        assert_eq!(sim.peers[c].core.tags_in_flight(), 0);
    }
}

/// The app's holepunch veto is asked once both NATs are known; a refusal aborts the rounds
/// (the server hears an ABORTED round) with HOLEPUNCH_ABORTED.
#[test]
fn a_vetoed_holepunch_aborts() {
    let mut sim = Sim::network(6);
    sim.fast_open = false;
    sim.veto = true;
    let boot = sim.peers[0].server;
    let s = sim.add(node_cfg(boot, true), false);
    let c = sim.add(node_cfg(boot, true), false);
    sim.advance(Duration::from_secs(2));
    let kp = relayed_server(&mut sim, s, 2);
    let relay = sim.peers[2].server;
    let id = sim.connect(c, kp.public_key, vec![relay]);
    sim.advance(Duration::from_secs(3));
    let outs = sim.connect_outs(c);
    let info = outs
        .iter()
        .find_map(|o| match o {
            ConnectOut::AskVeto { id: i, info } if *i == id => Some(info.clone()),
            _ => None,
        })
        .expect("veto asked");
    assert_eq!(info.remote_firewall, hyperdht_core::Firewall::Consistent);
    assert_eq!(info.local_firewall, hyperdht_core::Firewall::Consistent);
    assert_eq!(info.remote_addresses, vec![sim.peers[s].server]);
    assert!(done(&outs).is_none());
    let now = sim.now;
    let p = &mut sim.peers[c];
    p.core.connect_veto_answer(id, false, &mut p.node, now);
    sim.advance(Duration::from_secs(1));
    let outs = sim.connect_outs(c);
    assert!(matches!(
        done(&outs),
        Some(Err(ConnectError::HolepunchAborted))
    ));
    assert_eq!(sim.peers[c].core.punchers.live(), 0);
    // the server's slot heard the abort: its puncher is gone too
    assert_eq!(sim.peers[s].core.punchers.live(), 0);
}

/// `createHandshake` on both sides: the cores hold public keys only and ask for every Noise
/// message (here answered by Noise states the test keeps, as the app's NoiseWrap objects would);
/// the connection comes out with the keys those states derived.
#[test]
fn external_handshake_objects_on_both_ends() {
    use hyperdht_core::noise_wrap::{ExternalReply, ServerRecv, ServerSend};
    use hyperdht_crypto::ns;
    use hyperdht_secret_stream::dh::DhKeyPair;
    use hyperdht_secret_stream::{Handshake, Pattern};
    use std::collections::HashMap;

    let mut sim = Sim::network(6);
    let (s, c) = (3, 5);
    let (skp, ckp) = (KeyPair::generate(), KeyPair::generate());
    let public = |kp: &KeyPair| KeyPair {
        public_key: kp.public_key,
        secret_key: [0; 64],
    };
    let now = sim.now;
    let p = &mut sim.peers[s];
    let cfg = ServerConfig {
        external: true,
        ..ServerConfig::default()
    };
    p.core.listen(&public(&skp), cfg, &mut p.node, now);
    let now = sim.now;
    let p = &mut sim.peers[c];
    let params = ConnectParams {
        key_pair: public(&ckp),
        remote_public_key: skp.public_key,
        stream_id: 77,
        stream: 1,
        local_connection: false,
        fast_open: true,
        reusable_socket: false,
        relay_addresses: Vec::new(),
        veto: false,
        lan_ping: false,
        relay_through: None,
        external: true,
    };
    p.core.connect(params, &mut p.node, now);

    let mut server_hs: HashMap<u64, Handshake> = HashMap::new();
    let mut client_hs: Option<Handshake> = None;
    let (mut asked_server, mut asked_client) = (0, 0);
    let mut opened = None;
    let mut result = None;
    for _ in 0..200 {
        sim.advance(Duration::from_millis(10));
        let now = sim.now;
        // the server's handshake objects
        let p = &mut sim.peers[s];
        for o in std::mem::take(&mut p.outputs) {
            match o {
                Output::Server(ServerOut::NoiseRecv { key, noise }) => {
                    asked_server += 1;
                    let dh = DhKeyPair::from_seed(&skp.seed());
                    let mut hs =
                        Handshake::new(Pattern::IK, false, dh, ns::peer_handshake(), None).unwrap();
                    let payload = hs.recv(&noise).unwrap();
                    let remote_public_key = hs.remote_static().unwrap();
                    server_hs.insert(key.gen, hs);
                    let answer = ServerRecv {
                        payload,
                        remote_public_key,
                    };
                    p.core
                        .server_noise_received(key, Some(answer), &mut p.node, now);
                }
                Output::Server(ServerOut::NoiseSend { key, payload }) => {
                    asked_server += 1;
                    let mut hs = server_hs.remove(&key.gen).unwrap();
                    let noise = hs.send(&payload).unwrap();
                    let result = hs.result().unwrap();
                    let answer = ServerSend { noise, result };
                    p.core
                        .server_noise_sent(key, Some(answer), &mut p.node, now);
                }
                Output::Server(ServerOut::OpenStream { result, .. }) => opened = Some(result),
                _ => {}
            }
        }
        // the client's
        let p = &mut sim.peers[c];
        for o in std::mem::take(&mut p.outputs) {
            match o {
                Output::Connect(ConnectOut::NoiseSend { id, payload }) => {
                    asked_client += 1;
                    let dh = DhKeyPair::from_seed(&ckp.seed());
                    let pk = Some(skp.public_key);
                    let mut hs =
                        Handshake::new(Pattern::IK, true, dh, ns::peer_handshake(), pk).unwrap();
                    let noise = hs.send(&payload).unwrap();
                    client_hs = Some(hs);
                    p.core.connect_noise_sent(id, Some(noise), &mut p.node, now);
                }
                Output::Connect(ConnectOut::NoiseRecv { id, noise }) => {
                    asked_client += 1;
                    let hs = client_hs.as_mut().unwrap();
                    let payload = hs.recv(&noise).unwrap();
                    let answer = ExternalReply {
                        payload,
                        result: hs.result().unwrap(),
                    };
                    p.core
                        .connect_noise_received(id, Some(answer), &mut p.node, now);
                }
                Output::Connect(ConnectOut::Done { result: r, .. }) => result = Some(r),
                _ => {}
            }
        }
        if result.is_some() {
            break;
        }
    }
    let est = result.expect("done").expect("connected");
    assert_eq!((asked_server, asked_client), (2, 2));
    assert_eq!(est.connect_to, Some(sim.peers[s].server));
    let theirs = opened.expect("the server opened a stream");
    // the keys the handshake objects derived, on both ends
    assert_eq!(est.result.remote_public_key, skp.public_key);
    assert_eq!(theirs.remote_public_key, ckp.public_key);
    assert_eq!(est.result.tx, theirs.rx);
    assert_eq!(est.result.hash, theirs.hash);
    assert!(server_hs.is_empty());
}
