//! Two connects from one consistent-NAT client to one RANDOM-NAT server, started together
//! (hyperswarm's crossed or repeated dials do this). A node runs one RANDOM-NAT punch at a time,
//! so the first punches and the second, with no relay to wait on, gives up with
//! HOLEPUNCH_ABORTED; the first is unaffected. Over 20 seeds, in virtual time: the first always
//! connects and echoes byte for byte, the second never claims a path. (The client's punchers
//! share its punch socket; which of them a RANDOM server's probe belongs to is checked in
//! `core/holepuncher.rs`'s tests: on the NAT rig a second connect waiting for the budget on a
//! relay took the first one's probes.)

mod sim;

use std::time::Duration;

use hyperdht_core::core::server::ServerConfig;
use hyperdht_netsim::NatClass;
use sim::client::ConnectOpts;
use sim::scenario::{internet, Layout, Pair, PAYLOAD};

#[test]
fn a_second_connect_never_takes_the_first_ones_random_punch() {
    for seed in 1..=20u64 {
        let mut p = Pair::new(
            "two_connects",
            seed,
            internet(),
            Layout::Apart(NatClass::Consistent, NatClass::Random),
        );
        p.listen(ServerConfig::default());
        let payload = p.s.payload(PAYLOAD);
        let (first, t0) = p.connect(ConnectOpts::sending(payload.clone()));
        p.s.run_for(Duration::from_millis(5));
        let (second, _) = p.connect(ConnectOpts::sending(payload));
        p.run_connect(first, Duration::from_secs(60));
        p.s.run_for(Duration::from_secs(5));
        let tag = p.tag();
        let one = p.outcome(first, t0);
        assert!(matches!(one.result, Some(Ok(_))), "{tag} first: {one:?}");
        assert!(one.echo_exact, "{tag} first echoed: {one:?}");
        let two = p.s.host(p.client).dial(second);
        assert_eq!(
            two.error_code(),
            Some("HOLEPUNCH_ABORTED"),
            "{tag} second: {:?}",
            two.result
        );
    }
}
