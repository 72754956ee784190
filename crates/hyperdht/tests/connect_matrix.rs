//! The connect matrix on the simulated network (`tests/sim`): a public DHT, then a server
//! and a client of every NAT class; each cell asserts the outcome, the path each side took,
//! the NAT class each side detected, and a byte-exact echo over the secret stream.

mod sim;

use std::time::Duration;

use hyperdht_core::core::server::ServerConfig;
use hyperdht_core::Firewall;
use hyperdht_netsim::{seed_from_env, NatClass, NetConfig};

use sim::Sim;

/// Public DHT nodes besides the bootstrapper.
const DHT_NODES: usize = 4;

#[test]
fn peers_detect_their_nat_class_and_servers_announce() {
    let seed = seed_from_env(1000);
    let mut s = Sim::new(seed, NetConfig::default(), DHT_NODES);
    let mut peers = Vec::new();
    for class in NatClass::ALL {
        let h = s.world.net_mut().add_host_class(class);
        peers.push((class, s.add_peer(h, &format!("{class:?}"))));
    }
    let ready = s.run_until(Duration::from_secs(10), |s| {
        peers.iter().all(|&(_, i)| s.host(i).ready_at.is_some())
    });
    assert!(ready, "peers ready, {}", s.tag());
    s.run_for(Duration::from_secs(5));
    for &(class, i) in &peers {
        let want = match class {
            NatClass::Open => Firewall::Open,
            NatClass::Firewalled | NatClass::Consistent => Firewall::Consistent,
            NatClass::Random => Firewall::Random,
        };
        assert_eq!(s.host(i).node_class(), want, "{class:?} {}", s.tag());
    }
    let mut keys = Vec::new();
    for &(_, i) in &peers {
        let kp = s.key_pair();
        s.with(i, |h, now| h.listen(&kp, ServerConfig::default(), now));
        keys.push((i, kp.public_key));
    }
    let ok = s.run_until(Duration::from_secs(10), |s| {
        keys.iter().all(|(i, pk)| s.host(*i).announced(pk))
    });
    assert!(ok, "every server announced, {}", s.tag());
}
