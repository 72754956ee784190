//! The path choice once the handshake is done (`hyperdht lib/connect.js: holepunch`, up to the
//! puncher): direct (we reached the server's own node, or the server is OPEN / not
//! holepunchable), passive (we told the server we are OPEN: it connects to us), the LAN shortcut
//! (same public host: PING the server's local address), else holepunching.

use std::net::SocketAddrV4;
use std::time::Duration;

use hyperdht_rpc::node::RequestSpec;

use super::handshake::Handshaken;
use super::{holepunch, remote_udx_id, Base, ConnectOut, Phase, Step, Win};
use crate::constants::Firewall;
use crate::core::holepuncher::match_address;
use crate::core::{Ctx, Output};
use crate::stats::Path;

/// `passiveConnectTimeout`: how long an OPEN client waits for the server to connect.
pub(crate) const PASSIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// `isReserved` (bogon): addresses nobody can be reached at.
pub(crate) fn is_reserved(a: &SocketAddrV4) -> bool {
    let ip = a.ip();
    let o = ip.octets();
    ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || o[0] >= 240
        || a.port() == 0
}

/// `isBogon`: reserved or private (not a public address).
fn is_bogon(a: &SocketAddrV4) -> bool {
    let ip = a.ip();
    let o = ip.octets();
    is_reserved(a)
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (o[0] == 100 && (64..128).contains(&o[1]))
}

/// `getFirstRemoteAddress`: the server's first public address, else where the relay saw it.
fn first_remote_address(hs: &Handshaken) -> SocketAddrV4 {
    hs.payload
        .addresses4
        .iter()
        .copied()
        .find(|a| !is_bogon(a))
        .unwrap_or(hs.server_address)
}

fn win(base: &mut Base, hs: Box<Handshaken>, addr: SocketAddrV4, path: Path) -> Step {
    base.path = path;
    Step::Done(Ok(Win {
        hs,
        addr: Some(addr),
        passive: false,
        via: None,
    }))
}

/// Chooses how to reach the server after a successful handshake.
pub(super) fn choose(base: &mut Base, hs: Box<Handshaken>, ctx: &mut Ctx<'_>) -> Step {
    let id = base.id;
    let remote_id = remote_udx_id(&hs);
    let holepunchable = hs
        .payload
        .holepunch
        .as_ref()
        .is_some_and(|h| !h.relays.is_empty());
    let server_fw = Firewall::from_code(hs.payload.firewall);
    let public = first_remote_address(&hs);
    // the server may already have a stream for us (it connects at once when we talked to it
    // directly or it is OPEN): if this connect is dropped now, that stream hears a DESTROY
    let known = if !hs.relayed {
        Some(hs.relay)
    } else if server_fw == Firewall::Open || !holepunchable {
        Some(public)
    } else {
        None
    };
    ctx.out.push_back(Output::Connect(ConnectOut::Handshaken {
        id,
        remote_id,
        known,
    }));
    // not relayed: we handshook with the server's own node
    if !hs.relayed {
        let relay = hs.relay;
        return win(base, hs, relay, Path::Direct);
    }
    // server OPEN, or not holepunchable: its first public address, else the relay's view
    if server_fw == Firewall::Open || !holepunchable {
        ctx.stats.punch_open();
        return win(base, hs, public, Path::Direct);
    }
    // we told the server we are OPEN: it connects to us. Decided by what the handshake said
    // (`c.firewall`), not by our state now: a client whose bootstrap finished while the
    // handshake was in flight told the server UNKNOWN, and that server waits for us to punch
    if hs.announced_open {
        base.path = Path::Direct;
        ctx.out
            .push_back(Output::Connect(ConnectOut::AcceptPassive { id, remote_id }));
        return Step::Phase(Phase::Passive {
            hs,
            deadline: ctx.now + PASSIVE_TIMEOUT,
        });
    }
    if let Some(addr) = lan_candidate(base, &hs, ctx.local_addresses) {
        if base.p.lan_ping {
            ctx.out
                .push_back(Output::Connect(ConnectOut::AskLanPing { id, addr }));
            return Step::Phase(Phase::Lan {
                hs,
                addr,
                seq: None,
            });
        }
        // `dht.ping(addr)`
        let spec = RequestSpec::new(addr, true, hyperdht_rpc::Command::Ping.code());
        let seq = base.request(spec, ctx);
        return Step::Phase(Phase::Lan {
            hs,
            addr,
            seq: Some(seq),
        });
    }
    holepunch::start(base, hs, ctx)
}

/// The LAN shortcut applies (same public host): the server's local address that matches ours
/// best (`Holepuncher.matchAddress`), else its first one.
fn lan_candidate(base: &Base, hs: &Handshaken, local: &[SocketAddrV4]) -> Option<SocketAddrV4> {
    if !base.p.local_connection || hs.client_address.ip() != hs.server_address.ip() {
        return None;
    }
    let candidates: Vec<SocketAddrV4> = hs
        .payload
        .addresses4
        .iter()
        .copied()
        .filter(|a| !is_reserved(a))
        .collect();
    match_address(local, &candidates).or(candidates.first().copied())
}

/// The LAN ping answered (or not): a blocked LAN ping is not fatal, holepunching may still work.
pub(super) fn lan_answered(
    base: &mut Base,
    hs: Box<Handshaken>,
    addr: SocketAddrV4,
    answered: bool,
    ctx: &mut Ctx<'_>,
) -> Step {
    if answered {
        return win(base, hs, addr, Path::Lan);
    }
    holepunch::start(base, hs, ctx)
}
