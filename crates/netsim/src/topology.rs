//! Hosts, NAT devices and how they are wired: host and NAT handles, host configuration, the
//! four hyperdht NAT classes as one-call presets, and topology errors.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::link::Link;

/// A host (one machine with one IPv4 address and any number of UDP ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// A NAT or firewall device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NatId(pub usize);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{}", self.0)
    }
}

impl fmt::Display for NatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nat{}", self.0)
    }
}

/// Where a host sits and how good its access link is.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    pub ip: Ipv4Addr,
    /// `None`: directly on the internet (a public address). `Some(nat)`: on that NAT's LAN (a
    /// private address behind a translating NAT, a public one behind a firewall).
    pub behind: Option<NatId>,
    /// The host's access link, both directions (default: ideal; the path's latency comes from
    /// [`NetConfig`](crate::NetConfig)).
    pub link: Link,
}

impl HostConfig {
    /// A host on the internet at `ip`.
    pub fn public(ip: Ipv4Addr) -> Self {
        HostConfig {
            ip,
            behind: None,
            link: Link::IDEAL,
        }
    }

    /// A host at `ip` on `nat`'s LAN.
    pub fn behind(ip: Ipv4Addr, nat: NatId) -> Self {
        HostConfig {
            ip,
            behind: Some(nat),
            link: Link::IDEAL,
        }
    }

    /// Sets the access link.
    pub fn link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    /// Sets the access link's one-way latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.link.latency = latency;
        self
    }
}

/// The NAT classes hyperdht's connect logic distinguishes, as one-host presets for
/// [`Net::add_host_class`](crate::Net::add_host_class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NatClass {
    /// A public address with nothing in front (hyperdht OPEN, dht-rpc not firewalled).
    Open,
    /// A public address behind a stateful firewall (dht-rpc firewalled; hyperdht CONSISTENT).
    Firewalled,
    /// Behind Linux-masquerade-like NAT (hyperdht CONSISTENT).
    Consistent,
    /// Behind a NAT that picks a random port per destination (hyperdht RANDOM).
    Random,
}

impl NatClass {
    /// All four, in a fixed order (for connect matrices).
    pub const ALL: [NatClass; 4] = [
        NatClass::Open,
        NatClass::Firewalled,
        NatClass::Consistent,
        NatClass::Random,
    ];
}

/// A topology that cannot exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologyError {
    /// The address is already taken (on the internet, or on that LAN).
    DuplicateAddress(Ipv4Addr),
    /// A private address cannot sit on the internet (or be a NAT's public side).
    PrivateOnInternet(Ipv4Addr),
    /// Hosts behind a translating NAT need private addresses.
    PublicBehindNat(Ipv4Addr),
    /// Hosts behind a firewall (no translation) need public addresses.
    PrivateBehindFirewall(Ipv4Addr),
    /// No such NAT.
    UnknownNat(NatId),
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::DuplicateAddress(ip) => write!(f, "address {ip} is already in use"),
            TopologyError::PrivateOnInternet(ip) => {
                write!(f, "private address {ip} cannot be on the internet")
            }
            TopologyError::PublicBehindNat(ip) => {
                write!(
                    f,
                    "host {ip} behind a translating NAT needs a private address"
                )
            }
            TopologyError::PrivateBehindFirewall(ip) => {
                write!(f, "host {ip} behind a firewall needs a public address")
            }
            TopologyError::UnknownNat(n) => write!(f, "no NAT {n}"),
        }
    }
}

impl std::error::Error for TopologyError {}
