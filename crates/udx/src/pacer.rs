//! Token-bucket pacing (`libudx src/udx.c`: `udx__stream_check_pacing` / the 1 ms pacing
//! timer, `UDX_INIT_PACING_RATE`). The bucket fills at the congestion controller's pacing rate
//! and holds about 2 ms of it, so a driver woken by a ~1 ms timer (tokio's resolution) still
//! sends at the full rate, in GSO-sized bursts, with at most ~1000 wake-ups per second.

use std::time::{Duration, Instant};

/// Initial bucket, as libudx (`UDX_INIT_PACING_RATE`, bytes).
const INIT_TOKENS: f64 = 25_000.0;
/// The bucket holds this much time at the current rate.
const BUCKET_TIME: Duration = Duration::from_millis(2);
/// Never wait less than the timer resolution: a shorter sleep just spins.
const MIN_WAIT: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub struct Pacer {
    /// bytes; may go one packet negative (a packet is sent whenever the bucket is non-empty)
    tokens: f64,
    /// bytes per second
    rate: f64,
    last: Instant,
    min_cap: f64,
}

impl Pacer {
    pub fn new(now: Instant, mss: usize) -> Self {
        Pacer {
            tokens: INIT_TOKENS,
            rate: 0.0,
            last: now,
            min_cap: (10 * mss) as f64,
        }
    }

    /// Payload bytes per packet changed (MTU probing).
    pub fn set_mss(&mut self, mss: usize) {
        self.min_cap = (10 * mss) as f64;
    }

    fn cap(&self) -> f64 {
        (self.rate * BUCKET_TIME.as_secs_f64()).max(self.min_cap)
    }

    pub fn set_rate(&mut self, bytes_per_sec: f64) {
        if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 {
            self.rate = bytes_per_sec;
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        if self.rate > 0.0 {
            let cap = self.cap();
            if self.tokens < cap {
                self.tokens = (self.tokens + self.rate * dt.as_secs_f64()).min(cap);
            }
        }
    }

    /// True if a packet may leave now.
    pub fn ready(&mut self, now: Instant) -> bool {
        if self.tokens > 0.0 {
            return true;
        }
        self.refill(now);
        self.tokens > 0.0
    }

    pub fn on_sent(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
        let floor = -self.min_cap;
        if self.tokens < floor {
            self.tokens = floor;
        }
    }

    /// When the bucket will have room again (call after [`Pacer::ready`] returned false).
    pub fn next_send_time(&self, now: Instant) -> Instant {
        if self.rate <= 0.0 {
            return now + MIN_WAIT;
        }
        let wait = Duration::from_secs_f64((-self.tokens).max(1.0) / self.rate);
        now + wait.max(MIN_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_the_configured_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, 1000);
        p.set_rate(1_000_000.0); // 1 MB/s = 1000 packets/s of 1000 bytes
        let mut now = t0;
        let mut sent = 0usize;
        let end = t0 + Duration::from_secs(1);
        while now < end {
            while p.ready(now) {
                p.on_sent(1000);
                sent += 1000;
            }
            now = p.next_send_time(now);
        }
        // initial bucket + one second at the rate
        assert!(
            (1_000_000..=1_000_000 + 27_000).contains(&sent),
            "sent {sent}"
        );
    }

    #[test]
    fn idle_time_does_not_bank_more_than_the_bucket() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, 1000);
        p.set_rate(10_000_000.0);
        while p.ready(t0) {
            p.on_sent(1000);
        }
        let later = t0 + Duration::from_secs(5);
        let mut burst = 0;
        while p.ready(later) {
            p.on_sent(1000);
            burst += 1000;
        }
        // 2 ms at 10 MB/s
        assert!(burst <= 21_000, "burst {burst}");
        assert!(p.next_send_time(later) >= later + MIN_WAIT);
    }
}
