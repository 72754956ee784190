//! hyperdht's record layer on top of `hyperdht-rpc`.
//!
//! Modules mirror upstream: `messages` (`lib/messages.js`), `persistent` (`lib/persistent.js`),
//! `cache` (`record-cache` and `xache`), `signing` (the signable preimages of
//! `lib/persistent.js`), and `dht` (the client operations of `index.js`).
#![forbid(unsafe_code)]

pub mod cache;
/// The connect counters' old home (they are core state now, `core::connect`).
pub mod connect_state {
    pub use crate::core::connect::ConnectStats;
    pub use crate::core::InternalCounts;
}
pub mod constants;
pub mod core;
pub mod driver;
/// The async façades live with the driver; their old paths stay.
pub use driver::{dht, dial as connect, relay, transport};
pub mod holepunch_veto;
pub mod messages;
pub mod nat;
pub mod noise_payload;
pub mod noise_wrap;
pub mod path_info;
pub mod persistent;
pub mod plugin;
pub mod router;
pub mod secure_payload;
pub mod server;
pub mod signing;
pub mod stats;

pub use crate::core::connect::ConnectStats;
pub use crate::core::InternalCounts;
pub use connect::{ConnectError, ConnectExtras, ConnectOptions, LanPing};
pub use constants::{Firewall, PayloadError};
pub use dht::{AnnounceOptions, CacheOptions, HyperDht, OpError, QueryOptions};
pub use holepunch_veto::{HolepunchFuture, HolepunchInfo, HolepunchVeto};
pub use relay::{RelayLink, RelayPaired, RelayRequest, Relayer};
pub use server::{FirewallFn, FirewallFuture, ListenExtras, ListenOptions, RelayAskFn};
pub use transport::{udx_on_dht, DhtTransport};

/// hyperdht command numbers (`lib/constants.js: COMMANDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    PeerHandshake,
    PeerHolepunch,
    FindPeer,
    Lookup,
    Announce,
    Unannounce,
    MutablePut,
    MutableGet,
    ImmutablePut,
    ImmutableGet,
    Plugin,
}

impl Command {
    pub fn code(self) -> u64 {
        match self {
            Command::PeerHandshake => 0,
            Command::PeerHolepunch => 1,
            Command::FindPeer => 2,
            Command::Lookup => 3,
            Command::Announce => 4,
            Command::Unannounce => 5,
            Command::MutablePut => 6,
            Command::MutableGet => 7,
            Command::ImmutablePut => 8,
            Command::ImmutableGet => 9,
            Command::Plugin => 10,
        }
    }

    pub fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => Command::PeerHandshake,
            1 => Command::PeerHolepunch,
            2 => Command::FindPeer,
            3 => Command::Lookup,
            4 => Command::Announce,
            5 => Command::Unannounce,
            6 => Command::MutablePut,
            7 => Command::MutableGet,
            8 => Command::ImmutablePut,
            9 => Command::ImmutableGet,
            10 => Command::Plugin,
            _ => return None,
        })
    }
}
