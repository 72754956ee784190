//! Network health (`dht-rpc lib/health.js`, 6.27.0): a 4-tick window of cumulative
//! (responses, timeouts) snapshots decides whether the node is online and/or degraded.
//! No wire effect; hyperdht servers pause re-announcing while offline.

const MAX_HEALTH_WINDOW: usize = 4;
const OFFLINE_THRESHOLD: u32 = 2;
const IDLE_THRESHOLD: u64 = 4;
const DEGRADED_TIMEOUT_RATE_THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    responses: u64,
    timeouts: u64,
    /// `None` while the tick was cold or idle (no verdict recorded).
    degraded: Option<bool>,
}

/// What the node should report after an update (`_online`, `_degraded`, `_offline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Online,
    Degraded,
    Offline,
}

#[derive(Debug, Clone)]
pub struct NetworkHealth {
    window: Vec<Snapshot>,
    head: usize,
    offline_ticks: u32,
    // signed like upstream: an offline tick records `degraded: false` and decrements the
    // healthy count when it leaves the window although it never incremented it
    degraded_ticks: i32,
    healthy_ticks: i32,
    pub online: bool,
    pub degraded: bool,
}

impl Default for NetworkHealth {
    fn default() -> Self {
        Self::new()
    }
}

impl NetworkHealth {
    pub fn new() -> Self {
        NetworkHealth {
            window: Vec::with_capacity(MAX_HEALTH_WINDOW),
            head: MAX_HEALTH_WINDOW - 1,
            offline_ticks: 0,
            degraded_ticks: 0,
            healthy_ticks: 0,
            online: true,
            degraded: false,
        }
    }

    fn tail(&self) -> usize {
        (self.head + 1) % MAX_HEALTH_WINDOW
    }

    fn newest(&self) -> Option<&Snapshot> {
        self.window.get(self.head)
    }

    fn previous(&self) -> Option<&Snapshot> {
        self.window
            .get((self.head + MAX_HEALTH_WINDOW - 1) % MAX_HEALTH_WINDOW)
    }

    /// Responses in the newest tick.
    pub fn responses(&self) -> u64 {
        match (self.newest(), self.previous()) {
            (Some(n), Some(p)) if self.window.len() > 1 => n.responses.saturating_sub(p.responses),
            _ => 0,
        }
    }

    /// Timeouts in the newest tick.
    pub fn timeouts(&self) -> u64 {
        match (self.newest(), self.previous()) {
            (Some(n), Some(p)) if self.window.len() > 1 => n.timeouts.saturating_sub(p.timeouts),
            _ => 0,
        }
    }

    pub fn timeouts_rate(&self) -> f64 {
        let t = self.timeouts();
        if t == 0 {
            return 0.0;
        }
        t as f64 / (self.responses() + t) as f64
    }

    pub fn cold(&self) -> bool {
        self.window.len() < MAX_HEALTH_WINDOW
    }

    pub fn idle(&self) -> bool {
        self.responses() + self.timeouts() < IDLE_THRESHOLD
    }

    /// Wake-up: forget everything and report online.
    pub fn reset(&mut self) -> HealthState {
        *self = NetworkHealth::new();
        HealthState::Online
    }

    /// One tick with the cumulative request counters. Returns the state to report, or `None`
    /// when the window is cold or the tick idle (no change, like upstream's early return).
    pub fn update(&mut self, responses: u64, timeouts: u64) -> Option<HealthState> {
        let tail = self.tail();
        if let Some(old) = self
            .window
            .get(tail)
            .filter(|_| self.window.len() == MAX_HEALTH_WINDOW)
        {
            match old.degraded {
                Some(true) => self.degraded_ticks -= 1,
                Some(false) => self.healthy_ticks -= 1,
                None => {}
            }
        }
        self.head = tail;
        let snap = Snapshot {
            responses,
            timeouts,
            degraded: None,
        };
        if self.window.len() < MAX_HEALTH_WINDOW {
            self.window.push(snap);
        } else {
            self.window[self.head] = snap;
        }
        if self.cold() || self.idle() {
            return None;
        }
        let offline = self.responses() == 0;
        let degraded = !offline && self.timeouts_rate() > DEGRADED_TIMEOUT_RATE_THRESHOLD;
        self.window[self.head].degraded = Some(degraded);
        if offline {
            self.offline_ticks += 1;
        } else {
            self.offline_ticks = 0;
            if degraded {
                self.degraded_ticks += 1;
            } else {
                self.healthy_ticks += 1;
            }
        }
        if !offline {
            self.online = true;
        } else if self.offline_ticks >= OFFLINE_THRESHOLD {
            self.online = false;
        }
        if !self.online || self.healthy_ticks == MAX_HEALTH_WINDOW as i32 {
            self.degraded = false;
        } else if self.degraded_ticks == MAX_HEALTH_WINDOW as i32 {
            self.degraded = true;
        }
        Some(if self.online && !self.degraded {
            HealthState::Online
        } else if self.degraded {
            HealthState::Degraded
        } else {
            HealthState::Offline
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected states produced by running upstream `lib/health.js` on the same deltas.
    #[test]
    fn matches_upstream_sequence() {
        let seq: [(u64, u64); 26] = [
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (1, 0),
            (0, 5),
            (0, 5),
            (1, 5),
            (1, 5),
            (1, 5),
            (1, 5),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (0, 4),
            (10, 0),
            (2, 3),
            (2, 3),
            (2, 3),
            (2, 3),
            (2, 3),
            (0, 9),
            (0, 9),
            (10, 0),
        ];
        use HealthState::*;
        let want = [
            None,
            None,
            None,
            Some(Online),
            None,
            Some(Online),
            Some(Offline),
            Some(Online),
            Some(Online),
            Some(Online),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Degraded),
            Some(Offline),
            Some(Online),
        ];
        let mut h = NetworkHealth::new();
        let (mut r, mut t) = (0, 0);
        for (i, ((dr, dt), w)) in seq.iter().zip(want).enumerate() {
            r += dr;
            t += dt;
            assert_eq!(h.update(r, t), w, "tick {i}");
        }
        assert_eq!(h.reset(), Online);
        assert!(h.cold() && h.online && !h.degraded);
    }
}
