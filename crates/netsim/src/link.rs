//! Link quality: one-way latency, jitter, loss and whether jitter may reorder datagrams.
//!
//! A datagram's path is the sender's access link (its host's [`Link`], "uplink"), then the
//! network's core (the internet's link, or the LAN's for hosts behind the same NAT), then the
//! receiver's access link ("downlink"). Delays add up and each part draws its own loss.

use std::time::Duration;

/// One-way properties of a link or a path segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly in `[0, jitter]` per datagram.
    pub jitter: Duration,
    /// Probability that a datagram is lost on this link (`0.0..=1.0`).
    pub loss: f64,
    /// Whether jitter may reorder datagrams. When false (the default) a datagram never leaves
    /// this link before one that entered it earlier (on the core: earlier on the same flow).
    pub reorder: bool,
}

impl Default for Link {
    fn default() -> Self {
        Link::IDEAL
    }
}

impl Link {
    /// No delay, no jitter, no loss.
    pub const IDEAL: Link = Link {
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        reorder: false,
    };

    /// A loss-free link with a fixed one-way `latency`.
    pub const fn with_latency(latency: Duration) -> Link {
        Link {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            reorder: false,
        }
    }

    /// Sets the jitter.
    pub const fn jitter(mut self, jitter: Duration) -> Link {
        self.jitter = jitter;
        self
    }

    /// Sets the loss probability.
    pub const fn loss(mut self, loss: f64) -> Link {
        self.loss = loss;
        self
    }

    /// Lets jitter reorder datagrams.
    pub const fn reordering(mut self, reorder: bool) -> Link {
        self.reorder = reorder;
        self
    }
}
