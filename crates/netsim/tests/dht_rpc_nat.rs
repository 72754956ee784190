//! The NAT models against the real classifier: sans-IO dht-rpc nodes (`hyperdht_rpc::node`)
//! bootstrap from public nodes, one behind each model, and we read what dht-rpc concludes:
//! `firewalled` (its quick PING_NAT check and `_checkIfFirewalled`), the NAT sampler's
//! `host:port`, and the per-destination port consistency that hyperdht's `lib/nat.js` samples
//! with pings from one socket.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_netsim::{
    seed_from_env, Endpoint, Filtering, HostId, NatClass, NatConfig, Net, NetConfig, Transmit,
    World,
};
use hyperdht_rpc::node::{Config, Event, Node, RequestSpec, SocketKind};
use hyperdht_rpc::Command;

const SERVER_PORT: u16 = 49737;
const CLIENT_PORT: u16 = 50001;

/// A dht-rpc node with its two sockets (server and client) on two ports of one host.
struct Dht {
    node: Node,
    events: Vec<Event>,
}

impl Dht {
    fn new(cfg: Config, now: Instant) -> Self {
        let mut node = Node::new(cfg, now);
        node.start(SERVER_PORT, now);
        Dht {
            node,
            events: Vec::new(),
        }
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.node.poll_event() {
            self.events.push(e);
        }
    }

    fn ready(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::Ready))
    }
}

impl Endpoint for Dht {
    fn handle_datagram(&mut self, port: u16, from: SocketAddrV4, data: &[u8], now: Instant) {
        let socket = match port {
            SERVER_PORT => SocketKind::Server,
            CLIENT_PORT => SocketKind::Client,
            _ => return, // closed port
        };
        self.node.handle_datagram(socket, from, data, now);
        self.drain_events();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
        self.drain_events();
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.node.poll_transmit().map(|t| Transmit {
            src_port: match t.socket {
                SocketKind::Server => SERVER_PORT,
                SocketKind::Client => CLIENT_PORT,
            },
            to: t.to,
            data: t.data,
            ttl: t.ttl,
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }
}

/// A bootstrapper and `n` persistent public nodes, settled.
fn bootstrap_network(net: Net, n: usize) -> (World<Dht>, SocketAddrV4, Vec<SocketAddrV4>) {
    let mut w = World::new(net);
    let h = w.net_mut().add_public_host();
    let boot = SocketAddrV4::new(w.net().host_ip(h), SERVER_PORT);
    let now = w.now();
    w.add(
        h,
        Dht::new(
            Config {
                ephemeral: Some(false),
                adaptive: false,
                firewalled: false,
                nat_seed: Some(boot),
                ..Config::default()
            },
            now,
        ),
    );
    w.run_for(Duration::from_millis(50));
    let mut addrs = Vec::new();
    for _ in 0..n {
        let h = w.net_mut().add_public_host();
        addrs.push(SocketAddrV4::new(w.net().host_ip(h), SERVER_PORT));
        let now = w.now();
        let cfg = Config {
            bootstrap: vec![boot],
            ephemeral: Some(false),
            adaptive: false,
            firewalled: false,
            ..Config::default()
        };
        w.add(h, Dht::new(cfg, now));
        w.run_for(Duration::from_millis(100));
    }
    w.run_for(Duration::from_secs(3));
    for i in 0..w.len() {
        assert!(
            w.endpoint(i).ready(),
            "bootstrap node {i} ready, {}",
            w.tag()
        );
        assert!(!w.endpoint(i).node.is_ephemeral(), "{}", w.tag());
    }
    (w, boot, addrs)
}

/// A default (adaptive, firewalled-until-proven-otherwise) node on `host`.
fn add_client(w: &mut World<Dht>, host: HostId, boot: SocketAddrV4) -> usize {
    let now = w.now();
    let cfg = Config {
        bootstrap: vec![boot],
        ..Config::default()
    };
    w.add(host, Dht::new(cfg, now))
}

/// hyperdht `Nat.autoSample`: pings from the client socket to several nodes; the `to` of
/// each reply is how that node saw us.
fn sample_ports(w: &mut World<Dht>, i: usize, to: &[SocketAddrV4]) -> Vec<SocketAddrV4> {
    let now = w.now();
    for (k, &a) in to.iter().enumerate() {
        let mut spec = RequestSpec::new(a, true, Command::Ping.code());
        spec.socket = Some(SocketKind::Client);
        w.endpoint_mut(i).node.request(1000 + k as u64, spec, now);
    }
    w.run_for(Duration::from_secs(2));
    let mut seen = Vec::new();
    for e in &w.endpoint(i).events {
        if let Event::Response {
            req,
            result: Ok(res),
        } = e
        {
            if *req >= 1000 {
                seen.push(res.to);
            }
        }
    }
    assert_eq!(seen.len(), to.len(), "every ping answered, {}", w.tag());
    seen
}

struct Verdict {
    firewalled: bool,
    nat: Option<(Ipv4Addr, u16)>,
    samples: Vec<SocketAddrV4>,
}

/// Builds the bootstrap network, places one default node with `place`, lets it bootstrap
/// for 10 s and samples it. Returns the verdict, the network and the node's host.
fn classify(
    cfg: NetConfig,
    seed: u64,
    place: impl FnOnce(&mut Net) -> HostId,
) -> (Verdict, Net, HostId) {
    let net = Net::with_config(seed, cfg);
    let (mut w, boot, addrs) = bootstrap_network(net, 8);
    let host = place(w.net_mut());
    let i = add_client(&mut w, host, boot);
    w.run_for(Duration::from_secs(10));
    let tag = w.tag();
    assert!(w.endpoint(i).ready(), "client ready, {tag}");
    let samples = sample_ports(&mut w, i, &addrs[..5]);
    let node = &w.endpoint(i).node;
    let v = Verdict {
        firewalled: node.is_firewalled(),
        nat: node.nat_host().map(|h| (h, node.nat_port())),
        samples,
    };
    (v, w.into_net(), host)
}

fn ports(s: &[SocketAddrV4]) -> Vec<u16> {
    let mut p: Vec<u16> = s.iter().map(|a| a.port()).collect();
    p.sort_unstable();
    p.dedup();
    p
}

#[test]
fn open_host_is_not_firewalled() {
    let seed = seed_from_env(300);
    let (v, net, h) = classify(NetConfig::default(), seed, |n| {
        n.add_host_class(NatClass::Open)
    });
    let ip = net.host_ip(h);
    let tag = net.tag();
    assert!(!v.firewalled, "quick PING_NAT check passed, {tag}");
    // after the firewall check the node adopts that check's sampler: the server socket's address
    assert_eq!(v.nat, Some((ip, SERVER_PORT)), "{tag}");
    assert!(
        v.samples
            .iter()
            .all(|s| *s == SocketAddrV4::new(ip, CLIENT_PORT)),
        "{tag}"
    );
}

#[test]
fn firewalled_host_is_firewalled_at_its_own_address() {
    let seed = seed_from_env(301);
    let (v, net, h) = classify(NetConfig::default(), seed, |n| {
        n.add_host_class(NatClass::Firewalled)
    });
    let ip = net.host_ip(h);
    let tag = net.tag();
    assert!(v.firewalled, "{tag}");
    assert_eq!(v.nat, Some((ip, CLIENT_PORT)), "{tag}");
    assert!(
        v.samples
            .iter()
            .all(|s| *s == SocketAddrV4::new(ip, CLIENT_PORT)),
        "{tag}"
    );
    assert!(
        net.counters().filtered > 0,
        "the PING_NAT reply was filtered, {tag}"
    );
}

#[test]
fn consistent_nat_gives_one_host_and_port() {
    for filtering in [
        Filtering::AddressAndPortDependent,
        Filtering::AddressDependent,
        // a full cone: still firewalled, since PING_NAT replies go to the server socket,
        // which never sent anything and so has no mapping
        Filtering::EndpointIndependent,
    ] {
        let seed = seed_from_env(302);
        let (v, net, h) = classify(NetConfig::default(), seed, |n| {
            let ip = n.alloc_nat_ip();
            let nat = n.add_nat(NatConfig::consistent(ip).filtering(filtering));
            n.add_lan_host(nat)
        });
        let ip = net.public_ip(h);
        let tag = format!("{filtering:?} {}", net.tag());
        assert!(v.firewalled, "{tag}");
        assert_eq!(v.nat, Some((ip, CLIENT_PORT)), "port preserved, {tag}");
        assert_eq!(ports(&v.samples), [CLIENT_PORT], "{tag}");
    }
}

#[test]
fn random_nat_gives_a_host_but_no_port() {
    let seed = seed_from_env(303);
    let (v, net, h) = classify(NetConfig::default(), seed, |n| {
        n.add_host_class(NatClass::Random)
    });
    let ip = net.public_ip(h);
    let tag = net.tag();
    assert!(v.firewalled, "{tag}");
    assert_eq!(
        v.nat,
        Some((ip, 0)),
        "ports disagree, so only the host is voted, {tag}"
    );
    assert!(v.samples.iter().all(|s| *s.ip() == ip), "{tag}");
    assert_eq!(
        ports(&v.samples).len(),
        v.samples.len(),
        "one port per node, {tag}"
    );
}

/// dht-rpc's adaptive switch (`STABLE_TICKS`, ~20 minutes): the full `_checkIfFirewalled`
/// (PING_NAT from five nodes to the server socket) runs again; only the open node passes and
/// turns persistent, every NATed or firewalled node stays ephemeral and firewalled.
#[test]
fn after_twenty_minutes_only_the_open_node_turns_persistent() {
    let seed = seed_from_env(304);
    let (mut w, boot, _) = bootstrap_network(Net::new(seed), 8);
    let mut clients = Vec::new();
    for class in NatClass::ALL {
        let h = w.net_mut().add_host_class(class);
        clients.push((class, add_client(&mut w, h, boot)));
    }
    w.run_for(Duration::from_secs(22 * 60));
    for (class, i) in clients {
        let node = &w.endpoint(i).node;
        let open = class == NatClass::Open;
        let tag = format!("{class:?} {}", w.tag());
        assert_eq!(node.is_firewalled(), !open, "{tag}");
        assert_eq!(node.is_ephemeral(), !open, "{tag}");
        if open {
            let host = w.host(i);
            let want = SocketAddrV4::new(w.net().host_ip(host), SERVER_PORT);
            assert_eq!(node.remote_address(), Some(want), "{tag}");
            assert!(w
                .endpoint(i)
                .events
                .iter()
                .any(|e| matches!(e, Event::Persistent)));
        }
    }
}
