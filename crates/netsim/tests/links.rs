//! Loss, latency, jitter and reordering statistics under a seed, and determinism: the same seed
//! gives the same trace, another seed another one.

mod common;

use std::time::Duration;

use common::{sa, NetExt};
use hyperdht_netsim::{seed_from_env, Link, NatClass, Net, NetConfig};

fn lossy_jittery(seed: u64, reorder: bool) -> Net {
    let cfg = NetConfig {
        internet: Link::with_latency(Duration::from_millis(10))
            .jitter(Duration::from_millis(5))
            .loss(0.1)
            .reordering(reorder),
        ..NetConfig::default()
    };
    Net::with_config(seed, cfg)
}

#[test]
fn loss_rate_latency_and_jitter_follow_the_link() {
    let seed = seed_from_env(100);
    let mut n = lossy_jittery(seed, false);
    let (a, b) = (n.add_public_host(), n.add_public_host());
    n.bind(b, 1);
    let to = sa(n.host_ip(b), 1);
    let t0 = n.now();
    let count = 10_000u32;
    for i in 0..count {
        n.send(a, 1, to, i.to_be_bytes().to_vec(), None);
    }
    let got = n.drain();
    let lost = count as u64 - got.len() as u64;
    // binomial(10 000, 0.1): sd 30, so 870..1130 is more than 4 sd either side
    assert!((870..=1130).contains(&lost), "lost {lost} {}", n.tag());
    assert_eq!(n.counters().loss, lost);
    let delays: Vec<Duration> = got.iter().map(|d| d.at - t0).collect();
    assert!(
        delays
            .iter()
            .all(|d| *d >= Duration::from_millis(10) && *d <= Duration::from_millis(15)),
        "{}",
        n.tag()
    );
    // all sent at once without reordering: they arrive in send order despite the jitter
    let seqs: Vec<u32> = got
        .iter()
        .map(|d| u32::from_be_bytes(d.data[..4].try_into().unwrap()))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, {}",
        n.tag()
    );
}

#[test]
fn jitter_reorders_only_when_allowed() {
    let seed = seed_from_env(101);
    let mut n = lossy_jittery(seed, true);
    let (a, b) = (n.add_public_host(), n.add_public_host());
    n.bind(b, 1);
    let to = sa(n.host_ip(b), 1);
    let t0 = n.now();
    for i in 0..2000u32 {
        n.send(a, 1, to, i.to_be_bytes().to_vec(), None);
        n.advance(Duration::from_micros(500));
    }
    let got = n.drain();
    let seqs: Vec<u32> = got
        .iter()
        .map(|d| u32::from_be_bytes(d.data[..4].try_into().unwrap()))
        .collect();
    let inversions = seqs.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(inversions > 100, "{inversions} inversions, {}", n.tag());
    // mean one-way delay: 10 ms + uniform(0, 5 ms) => 12.5 ms
    let mean = got
        .iter()
        .map(|d| {
            let sent = u32::from_be_bytes(d.data[..4].try_into().unwrap());
            (d.at - t0 - Duration::from_micros(500) * sent).as_secs_f64()
        })
        .sum::<f64>()
        / got.len() as f64;
    assert!((0.0123..0.0127).contains(&mean), "mean {mean} {}", n.tag());
}

#[test]
fn host_links_add_latency_and_loss() {
    let seed = seed_from_env(102);
    let mut n = Net::new(seed);
    let (a, b) = (n.add_public_host(), n.add_public_host());
    n.set_host_link(a, Link::with_latency(Duration::from_millis(40)));
    n.set_host_link(b, Link::with_latency(Duration::from_millis(5)));
    n.bind(a, 1);
    n.bind(b, 1);
    let t0 = n.now();
    let got = n.send1(b, 1, sa(n.host_ip(a), 1));
    assert_eq!(
        got[0].at - t0,
        Duration::from_millis(55),
        "5 + 10 + 40, {}",
        n.tag()
    );
    // a host link loses both ways
    n.set_host_link(b, Link::with_latency(Duration::from_millis(5)).loss(1.0));
    assert!(
        n.send1(a, 1, sa(n.host_ip(b), 1)).is_empty(),
        "b's link loses all"
    );
    assert!(
        n.send1(b, 1, sa(n.host_ip(a), 1)).is_empty(),
        "b's link loses all"
    );
    assert_eq!(n.counters().loss, 2);
}

/// A busy scenario: random and consistent NATs, loss, jitter, reordering, LAN traffic, TTL
/// probes. Returns the trace and counters.
fn scenario(seed: u64) -> (Vec<String>, hyperdht_netsim::Counters) {
    let mut n = lossy_jittery(seed, true);
    n.set_trace_capacity(100_000);
    let mut hosts = Vec::new();
    for class in NatClass::ALL {
        for _ in 0..3 {
            hosts.push(n.add_host_class(class));
        }
    }
    let nat = n.host_nat(hosts[6]).unwrap();
    hosts.push(n.add_lan_host(nat));
    for &h in &hosts {
        n.bind(h, 7);
    }
    for round in 0..20u16 {
        for (i, &h) in hosts.iter().enumerate() {
            for (j, &k) in hosts.iter().enumerate() {
                if i == j {
                    continue;
                }
                let to = sa(n.public_ip(k), 7);
                let ttl = (round % 3 == 0).then_some(5);
                n.send(h, 7 + round % 2, to, vec![i as u8, j as u8], ttl);
            }
        }
        n.advance(Duration::from_millis(3));
        let now = n.now();
        while let Some(d) = n.pop_due(now) {
            // answer every delivery from the port it came to
            n.send(d.host, d.dst_port, d.from, d.data, None);
        }
    }
    n.drain();
    (n.trace().map(|e| e.to_string()).collect(), n.counters())
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let seed = seed_from_env(103);
    let (t1, c1) = scenario(seed);
    let (t2, c2) = scenario(seed);
    assert!(t1.len() > 5000, "a busy run ({} entries)", t1.len());
    assert_eq!(c1, c2, "seed={seed}");
    assert!(t1 == t2, "traces differ, seed={seed}");
    assert!(c1.delivered > 0 && c1.loss > 0 && c1.filtered > 0 && c1.ttl > 0);
    let (t3, _) = scenario(seed.wrapping_add(1));
    assert_ne!(t1, t3, "another seed changes losses and ports, seed={seed}");
}
