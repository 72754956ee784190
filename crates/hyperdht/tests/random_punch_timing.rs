//! How long a RANDOM-NAT punch takes on the simulated network, over 30 seeds each way
//! (virtual time, so the figures are exact and repeat): with upstream's 256 birthday sockets and
//! with ours (`BIRTHDAY_SOCKETS`). The probe rate is upstream's (one random probe per 20 ms from
//! the consistent side, one keep-alive per 20 ms from the random side); only the number of
//! mappings the random side keeps differs. Asserts ours is at least twice as fast at the median
//! and never fails. `-- --nocapture` prints the distributions.

mod sim;

use std::time::Duration;

use hyperdht_core::core::server::ServerConfig;
use hyperdht_netsim::NatClass;
use sim::client::ConnectOpts;
use sim::scenario::{internet, Layout, Pair, PAYLOAD};

/// Virtual ms to open for seeds 1..=30, sorted (`u128::MAX`: did not connect).
fn times(c: NatClass, s: NatClass, birthday: Option<usize>) -> Vec<u128> {
    let mut v: Vec<u128> = (1..=30u64)
        .map(|seed| {
            let mut p = Pair::new("timing", seed, internet(), Layout::Apart(c, s));
            if let Some(n) = birthday {
                for h in [p.client, p.server] {
                    p.s.host_mut(h).core.punchers.set_birthday_sockets(n);
                }
            }
            p.listen(ServerConfig::default());
            let payload = p.s.payload(PAYLOAD);
            let (id, t0) = p.connect(ConnectOpts::sending(payload));
            p.run_connect(id, Duration::from_secs(60));
            p.outcome(id, t0).connect_ms.unwrap_or(u128::MAX)
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn more_birthday_sockets_punch_random_nats_faster() {
    for (c, s) in [
        (NatClass::Consistent, NatClass::Random),
        (NatClass::Random, NatClass::Consistent),
    ] {
        let upstream = times(c, s, Some(256));
        let ours = times(c, s, None);
        eprintln!("{c:?}->{s:?} 256 sockets: {upstream:?}");
        eprintln!("{c:?}->{s:?} ours:        {ours:?}");
        assert!(ours.iter().all(|t| *t != u128::MAX), "every seed connects");
        let (mu, mo) = (upstream[15], ours[15]);
        assert!(
            mo * 2 <= mu,
            "{c:?}->{s:?}: median {mo} ms vs {mu} ms with 256 sockets"
        );
    }
}
