//! The NAT models support hyperdht's punching strategies (`lib/holepuncher.js`): consistent to
//! consistent by simultaneous sends, random to consistent by the birthday attack (256
//! low-TTL-opened sockets against random probes), and nothing unsolicited otherwise.

mod common;

use std::time::Duration;

use common::{sa, NetExt};
use hyperdht_netsim::rng::Rng;
use hyperdht_netsim::{seed_from_env, NatClass, Net};

#[test]
fn consistent_and_firewalled_peers_punch_by_sending_to_each_other() {
    for (ca, cb) in [
        (NatClass::Consistent, NatClass::Consistent),
        (NatClass::Firewalled, NatClass::Consistent),
        (NatClass::Firewalled, NatClass::Firewalled),
    ] {
        let mut n = Net::new(seed_from_env(400));
        let (a, b) = (n.add_host_class(ca), n.add_host_class(cb));
        n.bind(a, 5000);
        n.bind(b, 6000);
        // addresses learned from the DHT (a consistent NAT keeps the port)
        let (ea, eb) = (sa(n.public_ip(a), 5000), sa(n.public_ip(b), 6000));
        // a alone: filtered at b
        assert!(n.send1(a, 5000, eb).is_empty(), "{ca:?}/{cb:?} {}", n.tag());
        // b answers the punch: a's NAT knows b now, and b's knows a
        let got = n.send1(b, 6000, ea);
        assert_eq!(got.len(), 1, "{ca:?}/{cb:?} {}", n.trace_dump(10));
        assert_eq!(n.send1(a, 5000, eb).len(), 1, "{ca:?}/{cb:?} {}", n.tag());
    }
}

#[test]
fn random_to_consistent_birthday_punch() {
    let seed = seed_from_env(401);
    let mut n = Net::new(seed);
    let r = n.add_host_class(NatClass::Random);
    let c = n.add_host_class(NatClass::Consistent);
    n.bind_any(r);
    n.bind(c, 6000);
    let ec = sa(n.public_ip(c), 6000);
    let r_ip = n.public_ip(r);
    // `_openBirthdaySockets`: 256 sockets each open a mapping towards c with a TTL-5 probe
    for k in 0..256u16 {
        n.send(r, 20_000 + k, ec, vec![0], Some(5));
    }
    assert!(
        n.drain().is_empty(),
        "low-TTL probes never arrive, {}",
        n.tag()
    );
    assert_eq!(n.counters().mappings, 256, "{}", n.tag());
    // `_randomProbes`: c sprays random ports of r's NAT every 20 ms
    let mut rng = Rng::new(n.sub_seed(1));
    let mut hit = None;
    for probe in 1..=1750u32 {
        if probe % 500 == 0 {
            // `_keepAliveRandomNat`: re-open before the 30 s mapping timeout
            for k in 0..256u16 {
                n.send(r, 20_000 + k, ec, vec![0], Some(5));
            }
        }
        let port = rng.range_u16(1000, 65535);
        n.send(c, 6000, sa(r_ip, port), vec![1], None);
        n.advance(Duration::from_millis(20));
        let now = n.now();
        if let Some(d) = n.pop_due(now) {
            hit = Some((probe, d));
            break;
        }
    }
    let (probes, d) = hit.unwrap_or_else(|| panic!("no hit in 1750 probes, {}", n.tag()));
    assert_eq!(d.from, ec, "{}", n.tag());
    assert!((20_000..20_256).contains(&d.dst_port));
    // r answers from the socket that was hit: through its own mapping, into c's permission
    let back = n.send1(r, d.dst_port, ec);
    assert_eq!(back.len(), 1, "{}", n.trace_dump(10));
    assert_eq!(back[0].host, c);
    // 256 of ~64 500 ports open: 252 probes on average (250 measured over 40 seeds); a miss
    // in 1750 probes has odds e^-7, as upstream
    eprintln!("birthday punch: hit after {probes} probes ({})", n.tag());
}
