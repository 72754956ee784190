//! The NAT connect matrix on the simulated network (`tests/sim`): a public DHT (a bootstrapper
//! and 4 nodes), then one server and one client, each behind its own NAT of every class
//! (open, stateful firewall, consistent = endpoint-independent mapping, random = a port per
//! destination), plus two LAN cells (both peers behind one NAT). Every cell asserts the
//! outcome (path or error code), the path the server saw, the NAT class each side detected
//! (dht-rpc's verdict on the node, and each puncher's own sampling), a byte-exact 64 KiB echo
//! over the secret stream, a clean close, and that nothing is left behind (punchers, handshake
//! slots, unconnected streams, pool sockets).
//!
//! A RANDOM NAT on one side is punched with `core/random_punch.rs`: the CONSISTENT side probes
//! random ports of the random side's host (one every 20 ms) while the RANDOM side keeps 256
//! mappings open toward it (255 birthday pool sockets + its punch socket); a probe that lands
//! on a pool socket's mapping puts that side's connection on the pool socket. These cells
//! also assert where each side's stream lives and that the pool was opened only on the random
//! side. The ports probed follow the seed (`Punchers::seed_random_ports`), so a cell repeats
//! exactly; across seeds such a punch takes ~5 s on average (see `connect_failures.rs` for
//! the slow tail).
//!
//! `cargo test -p hyperdht-core --test connect_matrix -- --nocapture` prints the table (virtual
//! ms from `connect()` to the chosen path, and to the full echo). A failure names the cell and
//! the seed: `NETSIM_SEED=N cargo test -p hyperdht-core --test connect_matrix <cell>`.

mod sim;

use std::time::Duration;

use hyperdht_core::core::random_punch::BIRTHDAY_SOCKETS;
use hyperdht_core::core::server::ServerConfig;
use hyperdht_core::stats::Path;
use hyperdht_core::Firewall;
use hyperdht_netsim::{seed_from_env, NatClass};

use sim::client::ConnectOpts;
use sim::scenario::{hyperdht_class, internet, Layout, Outcome, Pair, PAYLOAD};

/// What a cell must come to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// connected, on these paths (client's, server's)
    Connects(Path, Path),
    /// failed with this code
    Fails(&'static str),
}

use Expect::*;
use NatClass::{Consistent as Cons, Firewalled as Fw, Open, Random};
use Path::{Direct, Holepunched, Lan};

/// Runs one cell and checks everything; prints its table row.
fn cell(name: &str, default_seed: u64, layout: Layout, expect: Expect) {
    let seed = seed_from_env(default_seed);
    let mut p = Pair::new(name, seed, internet(), layout);
    p.listen(ServerConfig::default());
    let payload = p.s.payload(PAYLOAD);
    let (id, t0) = p.connect(ConnectOpts::sending(payload));
    p.run_connect(id, Duration::from_secs(60));
    let o = p.outcome(id, t0);
    eprintln!("{}", o.row(name));
    let tag = format!("{} {o:?}", p.tag());
    check_classes(&o, layout, expect, &tag);
    check_pool(&o, layout, expect, &tag);
    match expect {
        Connects(client, server) => {
            assert_eq!(o.result, Some(Ok(client)), "client path, {tag}");
            assert_eq!(o.server_paths, vec![server], "server path, {tag}");
            assert!(o.echo_exact, "64 KiB echoed byte for byte, {tag}");
        }
        Fails(code) => {
            assert_eq!(o.result, Some(Err(code)), "connect error, {tag}");
            assert!(o.server_paths.is_empty(), "no server connection, {tag}");
        }
    }
    // afterwards: closed cleanly (or timed out on the server), nothing left behind
    p.s.run_for(Duration::from_secs(60));
    let (c, s) = (p.s.host(p.client), p.s.host(p.server));
    let tag = p.tag();
    match expect {
        Connects(..) => {
            assert_eq!(c.dial_conn(id).closed, Some(None), "client closed, {tag}");
            // the connection closed cleanly; candidates on other sockets lost to it
            for conn in &s.streams.list {
                if conn.is_connected() {
                    assert_eq!(conn.closed, Some(None), "server closed, {tag}");
                } else {
                    assert!(conn.lost && conn.closed.is_some(), "lost candidate, {tag}");
                }
            }
        }
        Fails(_) => {
            assert!(
                s.streams.list.iter().all(|c| c.failed),
                "the server's stream gave up on the client, {tag}"
            );
        }
    }
    assert_eq!(c.live_punchers(), 0, "client punchers, {tag}");
    assert_eq!(s.live_punchers(), 0, "server punchers, {tag}");
    for h in [c, s] {
        assert_eq!(
            h.pool.open_now(),
            0,
            "{}: pool sockets closed, {tag}",
            h.name
        );
        assert!(h.pool.unknown_ops.is_empty(), "{}: pool ops, {tag}", h.name);
    }
    let target = hyperdht_crypto::hash(&p.skp.public_key);
    assert_eq!(
        s.core.servers[&target].slot_counts(),
        (0, 0),
        "handshake slots cleared, {tag}"
    );
}

/// Each side's NAT as dht-rpc and the punchers saw it.
fn check_classes(o: &Outcome, layout: Layout, expect: Expect, tag: &str) {
    let (client, server) = match layout {
        Layout::Apart(c, s) => (c, s),
        Layout::SameLan(n) => (n, n),
    };
    let (cw, sw) = (hyperdht_class(client), hyperdht_class(server));
    assert_eq!(o.client_node, cw, "client node class, {tag}");
    assert_eq!(o.server_node, sw, "server node class, {tag}");
    // punchers exist where a punch was attempted (and on a server for a LAN peer, which
    // keeps one ready); each classified its own side's NAT correctly
    let (cp, sp) = match expect {
        Connects(Direct, _) => (vec![], vec![]),
        Connects(Lan, _) => {
            // the LAN connect may win before that puncher finished sampling (it is
            // destroyed then, still UNKNOWN)
            let sampled = o.server_punch.first().copied().filter(|f| *f == sw);
            (vec![], vec![sampled.unwrap_or(Firewall::Unknown)])
        }
        _ => (vec![cw], vec![sw]),
    };
    assert_eq!(o.client_punch, cp, "client puncher verdict, {tag}");
    assert_eq!(o.server_punch, sp, "server puncher verdict, {tag}");
}

/// Pool sockets: opened (255 birthday sockets) only by a RANDOM side that punched, and that
/// side's connection lives on the one the peer's probe hit. (A hit on its punch socket
/// instead, 1 in 256, would be fine too; no seed of the matrix lands there.)
fn check_pool(o: &Outcome, layout: Layout, expect: Expect, tag: &str) {
    let Layout::Apart(client, server) = layout else {
        assert_eq!((o.client_pool_peak, o.server_pool_peak), (0, 0), "{tag}");
        return;
    };
    let punched = matches!(expect, Connects(Holepunched, _));
    let birthday = |random: bool| {
        if punched && random {
            BIRTHDAY_SOCKETS - 1
        } else {
            0
        }
    };
    let (cr, sr) = (client == Random, server == Random);
    assert_eq!(o.client_pool_peak, birthday(cr), "client pool, {tag}");
    assert_eq!(o.server_pool_peak, birthday(sr), "server pool, {tag}");
    assert_eq!(
        o.client_on_pool,
        punched && cr,
        "client stream socket, {tag}"
    );
    assert_eq!(
        o.server_on_pool,
        punched && sr,
        "server stream socket, {tag}"
    );
}

macro_rules! cells {
    ($($name:ident: $seed:expr, $layout:expr => $expect:expr;)*) => {
        $(
            #[test]
            fn $name() {
                cell(stringify!($name), $seed, $layout, $expect);
            }
        )*
    };
}

fn apart(client: NatClass, server: NatClass) -> Layout {
    Layout::Apart(client, server)
}

cells! {
    // an OPEN server: the client goes straight to its public address
    open_to_open: 101, apart(Open, Open) => Connects(Direct, Direct);
    firewalled_to_open: 102, apart(Fw, Open) => Connects(Direct, Direct);
    consistent_to_open: 103, apart(Cons, Open) => Connects(Direct, Direct);
    random_to_open: 104, apart(Random, Open) => Connects(Direct, Direct);
    // an OPEN client: the server connects to it (the client waits passively)
    open_to_firewalled: 105, apart(Open, Fw) => Connects(Direct, Direct);
    open_to_consistent: 106, apart(Open, Cons) => Connects(Direct, Direct);
    open_to_random: 107, apart(Open, Random) => Connects(Direct, Direct);
    // consistent on both sides: PEER_HOLEPUNCH rounds and probes
    firewalled_to_firewalled: 108, apart(Fw, Fw) => Connects(Holepunched, Holepunched);
    firewalled_to_consistent: 109, apart(Fw, Cons) => Connects(Holepunched, Holepunched);
    consistent_to_firewalled: 110, apart(Cons, Fw) => Connects(Holepunched, Holepunched);
    consistent_to_consistent: 111, apart(Cons, Cons) => Connects(Holepunched, Holepunched);
    // one random NAT: random probes against 256 birthday mappings
    firewalled_to_random: 112, apart(Fw, Random) => Connects(Holepunched, Holepunched);
    consistent_to_random: 113, apart(Cons, Random) => Connects(Holepunched, Holepunched);
    random_to_firewalled: 114, apart(Random, Fw) => Connects(Holepunched, Holepunched);
    random_to_consistent: 115, apart(Random, Cons) => Connects(Holepunched, Holepunched);
    // two random NATs: hyperdht gives up (upstream too)
    random_to_random: 116, apart(Random, Random) => Fails("HOLEPUNCH_ABORTED");
    // one NAT, both on its LAN: the LAN shortcut (a PING to the server's local address)
    lan_behind_consistent_nat: 117, Layout::SameLan(Cons) => Connects(Lan, Lan);
    lan_behind_random_nat: 118, Layout::SameLan(Random) => Connects(Lan, Lan);
}
