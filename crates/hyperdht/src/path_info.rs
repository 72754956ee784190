//! How a connection was made — beyond upstream (users ask for it in hyperdht#303): the path
//! (direct, LAN, holepunched, relayed, and whether a relayed one upgraded to a direct path),
//! both sides' NAT classes as the connect saw them, the relay's key, and the punching it took.
//! The core fills it in when a path is chosen (`core/connect`, `core/server`); the driver keeps
//! it per stream (`HyperDht::path_info`) and marks relay upgrades.

use std::time::Duration;

use crate::constants::Firewall;
use crate::stats::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// How the connection opened ([`Path::Relayed`] when through a blind relay).
    pub path: Path,
    /// A relayed connection moved to a direct (punched or reachable) path since.
    pub upgraded: bool,
    /// Our NAT class as the connect saw it (`Unknown` if it never needed to know).
    pub local_firewall: Firewall,
    /// The peer's NAT class as it told us (or as our punching classified it).
    pub remote_firewall: Firewall,
    /// The blind relay's key, when one was used.
    pub relay_through: Option<[u8; 32]>,
    /// PEER_HOLEPUNCH rounds sent (client) or answered (server).
    pub punch_rounds: u32,
    /// From the start of punching to the path (when we punched).
    pub punch_time: Option<Duration>,
}

impl PathInfo {
    /// A path chosen without punching.
    pub fn unpunched(path: Path, local: Firewall, remote: Firewall) -> Self {
        PathInfo {
            path,
            upgraded: false,
            local_firewall: local,
            remote_firewall: remote,
            relay_through: None,
            punch_rounds: 0,
            punch_time: None,
        }
    }

    /// The name JS sees: the path, or `upgraded` for a relayed connection that moved.
    pub fn label(&self) -> &'static str {
        if self.upgraded {
            "upgraded"
        } else {
            self.path.label()
        }
    }
}
