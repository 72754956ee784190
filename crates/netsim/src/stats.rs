//! Counters: what was sent, delivered, and dropped where and why.

use std::fmt;

/// Why a datagram did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Random loss on a link.
    Loss,
    /// A NAT or firewall had no (live) mapping for it, or its filter refused the sender.
    Filtered,
    /// Its TTL ran out at a router.
    Ttl,
    /// Nobody has the destination address (a private address outside the sender's LAN, an
    /// unknown public address), or the NAT ran out of ports.
    NoRoute,
    /// The destination host listens on no such port (no endpoint / not bound).
    NoListener,
    /// Sent to its own NAT's public address while that NAT does not hairpin.
    Hairpin,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Loss => "loss",
            DropReason::Filtered => "filtered",
            DropReason::Ttl => "ttl",
            DropReason::NoRoute => "no-route",
            DropReason::NoListener => "no-listener",
            DropReason::Hairpin => "hairpin",
        })
    }
}

/// Network-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams handed to [`Net::send`](crate::Net::send).
    pub sent: u64,
    /// Datagrams returned by [`Net::pop_due`](crate::Net::pop_due).
    pub delivered: u64,
    pub loss: u64,
    pub filtered: u64,
    pub ttl: u64,
    pub no_route: u64,
    pub no_listener: u64,
    pub hairpin: u64,
    /// NAT / firewall mappings created.
    pub mappings: u64,
}

impl Counters {
    /// All drops.
    pub fn dropped(&self) -> u64 {
        self.loss + self.filtered + self.ttl + self.no_route + self.no_listener + self.hairpin
    }

    /// Drops for one reason.
    pub fn dropped_by(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Loss => self.loss,
            DropReason::Filtered => self.filtered,
            DropReason::Ttl => self.ttl,
            DropReason::NoRoute => self.no_route,
            DropReason::NoListener => self.no_listener,
            DropReason::Hairpin => self.hairpin,
        }
    }

    /// Datagrams still travelling (sent, neither delivered nor dropped).
    pub fn in_flight(&self) -> u64 {
        self.sent - self.delivered - self.dropped()
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        *match reason {
            DropReason::Loss => &mut self.loss,
            DropReason::Filtered => &mut self.filtered,
            DropReason::Ttl => &mut self.ttl,
            DropReason::NoRoute => &mut self.no_route,
            DropReason::NoListener => &mut self.no_listener,
            DropReason::Hairpin => &mut self.hairpin,
        } += 1;
    }
}

/// Per-host counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCounters {
    /// Datagrams this host sent.
    pub sent: u64,
    /// Datagrams delivered to this host.
    pub received: u64,
}
