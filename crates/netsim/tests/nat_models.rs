//! Mapping and filtering behaviour of each NAT model, hairpinning, timeouts, TTL, routing
//! failures.

mod common;

use std::time::Duration;

use common::{net, sa, NetExt};
use hyperdht_netsim::{
    DropReason, Filtering, HostConfig, Mapping, NatClass, NatConfig, Net, TraceKind,
};

#[test]
fn open_hosts_reach_each_other_after_the_internet_latency() {
    let mut n = net(1);
    let a = n.add_host_class(NatClass::Open);
    let b = n.add_public_host();
    n.bind(b, 9000);
    let t0 = n.now();
    let got = n.send1(a, 4000, sa(n.host_ip(b), 9000));
    assert_eq!(got.len(), 1, "{}", n.trace_dump(10));
    let d = &got[0];
    assert_eq!(
        (d.host, d.dst_port, d.from),
        (b, 9000, sa(n.host_ip(a), 4000))
    );
    assert_eq!(d.at - t0, Duration::from_millis(10), "{}", n.tag());
    assert_eq!(n.counters().mappings, 0);
}

#[test]
fn consistent_nat_keeps_the_port_for_every_destination() {
    let mut n = net(2);
    let h = n.add_host_class(NatClass::Consistent);
    let nat = n.host_nat(h).unwrap();
    let pub_ip = n.public_ip(h);
    let (p1, p2) = (n.add_public_host(), n.add_public_host());
    n.bind(p1, 1);
    n.bind(p2, 2);
    let a = n.send1(h, 5000, sa(n.host_ip(p1), 1));
    let b = n.send1(h, 5000, sa(n.host_ip(p2), 2));
    assert_eq!(a[0].from, sa(pub_ip, 5000), "port preserved, {}", n.tag());
    assert_eq!(b[0].from, a[0].from, "same mapping for a new destination");
    assert_eq!(n.nat_mappings(nat).len(), 1);
    // a second LAN host using the same port cannot have it
    let h2 = n.add_lan_host(nat);
    let c = n.send1(h2, 5000, sa(n.host_ip(p1), 1));
    assert_eq!(c[0].from.ip(), &pub_ip);
    assert_ne!(c[0].from.port(), 5000, "{}", n.tag());
    // ...and keeps its own (random) port consistently too
    let d = n.send1(h2, 5000, sa(n.host_ip(p2), 2));
    assert_eq!(d[0].from, c[0].from, "{}", n.tag());
}

#[test]
fn random_nat_picks_a_fresh_port_per_destination() {
    let mut n = net(3);
    let h = n.add_host_class(NatClass::Random);
    let peers: Vec<_> = (0..6).map(|_| n.add_public_host()).collect();
    let mut ports = Vec::new();
    for &p in &peers {
        n.bind(p, 7);
        let got = n.send1(h, 5000, sa(n.host_ip(p), 7));
        assert_eq!(got[0].from.ip(), &n.public_ip(h));
        ports.push(got[0].from.port());
    }
    let mut uniq = ports.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), ports.len(), "ports {ports:?} {}", n.tag());
    // another port on a known host is a new destination too
    n.bind(peers[0], 8);
    let other = n.send1(h, 5000, sa(n.host_ip(peers[0]), 8));
    assert!(!ports.contains(&other[0].from.port()), "{}", n.tag());
    // the same destination again keeps its mapping
    let again = n.send1(h, 5000, sa(n.host_ip(peers[0]), 7));
    assert_eq!(again[0].from.port(), ports[0], "{}", n.tag());
}

/// For each non-open class: unsolicited inbound is dropped, replies pass, and a reply from
/// another port of the same peer is dropped (address+port-dependent filtering).
#[test]
fn filters_drop_unsolicited_and_pass_replies() {
    for class in [NatClass::Firewalled, NatClass::Consistent, NatClass::Random] {
        let mut n = net(4);
        let h = n.add_host_class(class);
        let p = n.add_public_host();
        n.bind(h, 5000);
        n.bind(p, 80);
        let guess = sa(n.public_ip(h), 5000);
        assert!(n.send1(p, 80, guess).is_empty(), "{class:?} {}", n.tag());
        assert_eq!(n.counters().filtered, 1, "{class:?}");
        let out = n.send1(h, 5000, sa(n.host_ip(p), 80));
        let seen = out[0].from;
        if class == NatClass::Firewalled {
            assert_eq!(
                seen,
                sa(n.host_ip(h), 5000),
                "a firewall does not translate"
            );
        }
        let back = n.send1(p, 80, seen);
        assert_eq!(back.len(), 1, "{class:?} reply {}", n.trace_dump(10));
        assert_eq!((back[0].host, back[0].dst_port), (h, 5000));
        assert_eq!(back[0].from, sa(n.host_ip(p), 80));
        assert!(n.send1(p, 81, seen).is_empty(), "{class:?} other port");
        assert_eq!(n.counters().filtered, 2, "{class:?} {}", n.tag());
    }
}

#[test]
fn filtering_modes_of_a_consistent_nat() {
    let cases = [
        (Filtering::EndpointIndependent, true, true),
        (Filtering::AddressDependent, true, false),
        (Filtering::AddressAndPortDependent, false, false),
    ];
    for (mode, same_host_other_port, other_host) in cases {
        let mut n = net(5);
        let ip = n.alloc_nat_ip();
        let nat = n.add_nat(NatConfig::consistent(ip).filtering(mode));
        let h = n.add_lan_host(nat);
        n.bind(h, 5000);
        let (p, q) = (n.add_public_host(), n.add_public_host());
        let ext = n.send1(h, 5000, sa(n.host_ip(p), 80));
        let _ = ext;
        let mapped = sa(ip, 5000);
        let from_p81 = n.send1(p, 81, mapped).len() == 1;
        let from_q = n.send1(q, 80, mapped).len() == 1;
        assert_eq!(
            (from_p81, from_q),
            (same_host_other_port, other_host),
            "{mode:?} {}",
            n.tag()
        );
        // no mapping at all: nothing gets in whatever the filter
        assert!(n.send1(p, 80, sa(ip, 6000)).is_empty(), "{mode:?}");
    }
}

#[test]
fn lan_hosts_talk_directly_by_private_address() {
    let mut n = net(6);
    let ip = n.alloc_nat_ip();
    let nat = n.add_nat(NatConfig::consistent(ip));
    let (a, b) = (n.add_lan_host(nat), n.add_lan_host(nat));
    n.bind(b, 9);
    let t0 = n.now();
    let got = n.send1(a, 1234, sa(n.host_ip(b), 9));
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].from,
        sa(n.host_ip(a), 1234),
        "no translation on the LAN"
    );
    assert_eq!(got[0].at - t0, Duration::from_millis(1), "LAN latency");
    assert!(n.nat_mappings(nat).is_empty(), "the NAT never saw it");
    // another LAN's identical private address is not reachable
    let other_ip = n.alloc_nat_ip();
    let other = n.add_nat(NatConfig::consistent(other_ip));
    let c = n.add_host(HostConfig::behind(n.host_ip(b), other));
    n.bind(c, 9);
    let got = n.send1(a, 1234, sa(n.host_ip(b), 9));
    assert_eq!(got[0].host, b, "the sender's own LAN wins");
}

#[test]
fn hairpin_on_and_off() {
    for hairpin in [false, true] {
        let mut n = net(7);
        let ip = n.alloc_nat_ip();
        let cfg = NatConfig::consistent(ip)
            .filtering(Filtering::EndpointIndependent)
            .hairpin(hairpin);
        let nat = n.add_nat(cfg);
        let (a, b) = (n.add_lan_host(nat), n.add_lan_host(nat));
        let p = n.add_public_host();
        n.bind(p, 80);
        n.bind(b, 6000);
        // b opens its mapping (port 6000 kept) by talking to the outside
        let seen_b = n.send1(b, 6000, sa(n.host_ip(p), 80))[0].from;
        assert_eq!(seen_b, sa(ip, 6000));
        let got = n.send1(a, 5000, seen_b);
        if hairpin {
            assert_eq!(got.len(), 1, "{}", n.trace_dump(10));
            assert_eq!(got[0].host, b);
            assert_eq!(got[0].from, sa(ip, 5000), "seen as a's public mapping");
        } else {
            assert!(got.is_empty());
            assert_eq!(n.counters().hairpin, 1, "{}", n.tag());
        }
    }
}

#[test]
fn mappings_expire_when_idle_and_outbound_traffic_refreshes_them() {
    let mut n = net(8);
    let h = n.add_host_class(NatClass::Consistent);
    let nat = n.host_nat(h).unwrap();
    let p = n.add_public_host();
    n.bind(h, 5000);
    n.bind(p, 80);
    let seen = n.send1(h, 5000, sa(n.host_ip(p), 80))[0].from;
    // 29 s idle: still open (the reply takes 10 ms)
    n.advance(Duration::from_millis(28_980));
    assert_eq!(n.send1(p, 80, seen).len(), 1, "{}", n.tag());
    // replies do not refresh: 30 s after the last outbound datagram it is gone
    n.advance(Duration::from_secs(1));
    assert!(n.send1(p, 80, seen).is_empty(), "{}", n.tag());
    assert!(n.nat_mappings(nat).is_empty());
    // outbound every 20 s keeps it for a minute, same port
    for _ in 0..4 {
        let s = n.send1(h, 5000, sa(n.host_ip(p), 80))[0].from;
        assert_eq!(s, seen, "consistent NAT gives the freed port back");
        n.advance(Duration::from_secs(20));
    }
    assert_eq!(n.send1(p, 80, seen).len(), 1, "{}", n.tag());
    // inbound refresh when configured
    n.nat_config_mut(nat).inbound_refreshes = true;
    n.send(h, 5000, sa(n.host_ip(p), 80), vec![], None);
    n.drain();
    for _ in 0..3 {
        n.advance(Duration::from_secs(25));
        assert_eq!(n.send1(p, 80, seen).len(), 1, "{}", n.tag());
    }
}

#[test]
fn reset_forgets_mappings_and_random_nat_then_moves() {
    let mut n = net(9);
    let h = n.add_host_class(NatClass::Random);
    let p = n.add_public_host();
    n.bind(h, 5000);
    n.bind(p, 80);
    let before = n.send1(h, 5000, sa(n.host_ip(p), 80))[0].from;
    n.reset_nats();
    assert!(n.send1(p, 80, before).is_empty(), "{}", n.tag());
    let after = n.send1(h, 5000, sa(n.host_ip(p), 80))[0].from;
    assert_ne!(before.port(), after.port(), "{}", n.tag());
}

/// hyperdht's holepunch: a TTL-5 probe opens the sender's NAT for the peer without reaching
/// it; the peer's datagram then passes.
#[test]
fn a_low_ttl_probe_opens_its_own_mapping_but_is_not_delivered() {
    let mut n = net(10);
    let a = n.add_host_class(NatClass::Consistent);
    let b = n.add_host_class(NatClass::Consistent);
    n.bind(a, 5000);
    n.bind(b, 6000);
    let (ea, eb) = (sa(n.public_ip(a), 5000), sa(n.public_ip(b), 6000));
    n.send(a, 5000, eb, b"probe".to_vec(), Some(5));
    assert!(n.drain().is_empty());
    assert_eq!(n.counters().ttl, 1, "{}", n.trace_dump(5));
    let dropped = n.trace().any(|e| {
        matches!(e.kind, TraceKind::Dropped { reason: DropReason::Ttl, detail, .. }
            if detail == "expired on the internet")
    });
    assert!(dropped, "{}", n.trace_dump(5));
    let nat_a = n.host_nat(a).unwrap();
    let m = n.nat_mappings(nat_a);
    assert_eq!((m.len(), m[0].external), (1, ea));
    assert_eq!(m[0].permits, vec![eb], "the probe made a's permission");
    // b sends first (a normal TTL): a's NAT lets it in, b's NAT now knows a
    let got = n.send1(b, 6000, ea);
    assert_eq!(got.len(), 1, "{}", n.trace_dump(10));
    assert_eq!((got[0].host, got[0].from), (a, eb));
    assert_eq!(n.send1(a, 5000, eb).len(), 1, "{}", n.tag());
    // the TTL budget: 1 (own NAT) + 8 (internet) + 1 (their NAT) routers
    n.send(a, 5000, eb, vec![], Some(10));
    assert!(n.drain().is_empty(), "TTL 10 dies at b's NAT");
    n.send(a, 5000, eb, vec![], Some(11));
    assert_eq!(n.drain().len(), 1, "TTL 11 arrives");
    // TTL 1 does not even get through its own NAT, so it maps nothing
    let c = n.add_host_class(NatClass::Consistent);
    n.send(c, 1, eb, vec![], Some(1));
    assert!(n.drain().is_empty());
    assert!(
        n.nat_mappings(n.host_nat(c).unwrap()).is_empty(),
        "{}",
        n.tag()
    );
    assert_eq!(n.counters().ttl, 3);
}

#[test]
fn unroutable_and_unbound_destinations_are_counted() {
    let mut n = net(11);
    let h = n.add_host_class(NatClass::Consistent);
    let p = n.add_public_host();
    // a private address outside the LAN: out through the NAT (mapped), then nowhere
    assert!(n.send1(h, 5000, "10.200.0.9:1".parse().unwrap()).is_empty());
    assert!(n
        .send1(p, 1, "198.19.255.254:1".parse().unwrap())
        .is_empty());
    assert_eq!(n.counters().no_route, 2, "{}", n.trace_dump(10));
    assert_eq!(n.counters().mappings, 1);
    assert!(n.send1(h, 5000, sa(n.host_ip(p), 99)).is_empty());
    assert_eq!(n.counters().no_listener, 1);
    let c = n.counters();
    assert_eq!(
        (c.sent, c.delivered, c.dropped(), c.in_flight()),
        (3, 0, 3, 0)
    );
}

#[test]
fn topology_errors() {
    use hyperdht_netsim::TopologyError as E;
    let mut n = Net::new(0);
    let ip = n.alloc_nat_ip();
    let nat = n.add_nat(NatConfig::consistent(ip));
    let fw = n.add_nat(NatConfig::firewall());
    let private = "192.168.1.2".parse().unwrap();
    let public = n.alloc_public_ip();
    assert_eq!(
        n.try_add_host(HostConfig::public(private)),
        Err(E::PrivateOnInternet(private))
    );
    assert_eq!(
        n.try_add_host(HostConfig::behind(public, nat)),
        Err(E::PublicBehindNat(public))
    );
    assert_eq!(
        n.try_add_host(HostConfig::behind(private, fw)),
        Err(E::PrivateBehindFirewall(private))
    );
    assert_eq!(
        n.try_add_host(HostConfig::public(ip)),
        Err(E::DuplicateAddress(ip))
    );
    assert_eq!(
        n.try_add_nat(NatConfig::random(ip)),
        Err(E::DuplicateAddress(ip))
    );
    assert!(n.try_add_host(HostConfig::behind(private, nat)).is_ok());
    assert_eq!(
        n.try_add_host(HostConfig::behind(private, nat)),
        Err(E::DuplicateAddress(private))
    );
    assert_eq!(n.nat_config(fw).mapping, Mapping::None);
}
