//! The virtual clock. Time is an [`Instant`] so sans-IO state machines take it unchanged, but it
//! only moves when the simulation moves it: it starts at one `Instant::now()` captured once per
//! process ([`epoch`]) and never reads the real clock again.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The instant every simulated network starts at (captured on first use, shared by all
/// networks of the process so their instants are comparable).
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// A monotonic virtual clock.
#[derive(Debug, Clone)]
pub struct Clock {
    now: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock at [`epoch`].
    pub fn new() -> Self {
        Clock { now: epoch() }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since [`epoch`] (what traces print; identical across runs of a seed).
    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(epoch())
    }

    /// Moves to `t`; earlier instants are ignored (time never goes back).
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }
}
