//! Delivery-rate sampling (`libudx src/udx_rate.c`, after Linux `tcp_rate.c`): each packet
//! remembers how much had been delivered when it was sent; when it is acknowledged the
//! difference over the elapsed time is a (lower-bound) bandwidth sample for [`crate::bbr`].
//! Counts packets; time in `Instant`s (libudx uses milliseconds, we keep full resolution so
//! sub-millisecond loopback RTTs still give usable samples).

use std::time::{Duration, Instant};

/// Snapshot stored with each sent packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketRate {
    delivered: u64,
    delivered_time: Instant,
    first_sent_time: Instant,
    app_limited: bool,
}

/// One rate sample, generated per ACK.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateSample {
    /// packets delivered over `interval` (None: no valid sample in this ACK)
    pub delivered: u64,
    pub interval: Option<Duration>,
    /// `delivered` as of the newest acked packet's send time (round counting)
    pub prior_delivered: u64,
    /// packets newly acked or SACKed by this ACK
    pub acked_sacked: u64,
    /// packets newly marked lost while processing this ACK
    pub losses: u64,
    pub is_app_limited: bool,
    /// RTT measured by this ACK, if any
    pub rtt: Option<Duration>,
}

#[derive(Debug)]
pub struct RateSampler {
    /// packets delivered (acked or SACKed) so far
    pub delivered: u64,
    delivered_time: Instant,
    first_sent_time: Instant,
    /// nonzero: the send pipeline ran dry; samples until `delivered` passes this are
    /// app-limited
    app_limited: u64,
    // sample under construction
    prior: Option<(u64, Instant)>,
    prior_sent: Option<Instant>,
    send_elapsed: Duration,
    sample_app_limited: bool,
}

impl RateSampler {
    pub fn new(now: Instant) -> Self {
        RateSampler {
            delivered: 0,
            delivered_time: now,
            first_sent_time: now,
            app_limited: 0,
            prior: None,
            prior_sent: None,
            send_elapsed: Duration::ZERO,
            sample_app_limited: false,
        }
    }

    /// `udx__rate_pkt_sent`: snapshot for a packet sent at `now` (`pipe_empty`: nothing else is in
    /// flight, so the sampling interval restarts here).
    pub fn on_sent(&mut self, now: Instant, pipe_empty: bool) -> PacketRate {
        if pipe_empty {
            self.first_sent_time = now;
            self.delivered_time = now;
        }
        PacketRate {
            delivered: self.delivered,
            delivered_time: self.delivered_time,
            first_sent_time: self.first_sent_time,
            app_limited: self.app_limited != 0,
        }
    }

    /// `udx__rate_pkt_delivered`: a packet sent at `sent_at` was acked or SACKed.
    pub fn on_delivered(&mut self, p: &PacketRate, sent_at: Instant) {
        self.delivered += 1;
        let newer = match self.prior {
            None => true,
            Some((d, _)) => p.delivered >= d,
        };
        if newer {
            self.prior = Some((p.delivered, p.delivered_time));
            self.sample_app_limited = p.app_limited;
            self.send_elapsed = sent_at.saturating_duration_since(p.first_sent_time);
            self.first_sent_time = sent_at;
            self.prior_sent = Some(sent_at);
        }
    }

    /// `udx__rate_gen`: closes the sample for this ACK.
    pub fn generate(
        &mut self,
        now: Instant,
        acked_sacked: u64,
        losses: u64,
        min_rtt: Option<Duration>,
        rtt: Option<Duration>,
    ) -> RateSample {
        if self.app_limited != 0 && self.delivered > self.app_limited {
            self.app_limited = 0;
        }
        if acked_sacked > 0 {
            self.delivered_time = now;
        }
        let mut rs = RateSample {
            acked_sacked,
            losses,
            rtt,
            is_app_limited: self.sample_app_limited,
            ..RateSample::default()
        };
        let Some((prior_delivered, prior_time)) = self.prior.take() else {
            return rs;
        };
        rs.prior_delivered = prior_delivered;
        rs.delivered = self.delivered - prior_delivered;
        let ack_elapsed = now.saturating_duration_since(prior_time);
        let interval = self.send_elapsed.max(ack_elapsed);
        // shorter than min_rtt: ACK compression, not a usable bandwidth sample
        if min_rtt.is_some_and(|m| interval < m) || interval.is_zero() {
            return rs;
        }
        rs.interval = Some(interval);
        rs
    }

    /// True while samples are marked application-limited.
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// `udx__rate_check_app_limited`: called when the sender ran out of data with room in the
    /// window; samples until what is in flight now is delivered don't reflect the path.
    pub fn set_app_limited(&mut self, inflight: usize) {
        self.app_limited = (self.delivered + inflight as u64).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_pipe_gives_the_send_rate() {
        let t0 = Instant::now();
        let us = Duration::from_micros(1);
        let mut r = RateSampler::new(t0);
        // one packet every 100 µs (10 packets/ms), each acked 5 ms after it was sent
        let mut pending = std::collections::VecDeque::new();
        let mut last = None;
        for i in 0..500u32 {
            let now = t0 + us * 100 * i;
            while let Some((p, t)) = pending.front().copied() {
                if now < t + us * 5000 {
                    break;
                }
                pending.pop_front();
                r.on_delivered(&p, t);
                last = Some(r.generate(now, 1, 0, Some(us * 5000), Some(now - t)));
            }
            let p = r.on_sent(now, pending.is_empty());
            pending.push_back((p, now));
        }
        let rs = last.unwrap();
        let pkts_per_ms = rs.delivered as f64 / rs.interval.unwrap().as_secs_f64() / 1000.0;
        assert!((pkts_per_ms - 10.0).abs() < 0.5, "{pkts_per_ms}");
        assert!(!rs.is_app_limited);
    }

    #[test]
    fn app_limited_marks_samples() {
        let t0 = Instant::now();
        let mut r = RateSampler::new(t0);
        r.set_app_limited(0);
        let p = r.on_sent(t0, true);
        r.on_delivered(&p, t0);
        let rs = r.generate(t0 + Duration::from_millis(2), 1, 0, None, None);
        assert!(rs.is_app_limited);
        // the bubble is gone once delivered passes the mark (packets sent after that)
        for i in 1..3u32 {
            let t = t0 + Duration::from_millis(2) * i;
            let p = r.on_sent(t, true);
            r.on_delivered(&p, t);
            let rs = r.generate(t + Duration::from_millis(2), 1, 0, None, None);
            assert_eq!(rs.is_app_limited, i == 1);
        }
    }
}
