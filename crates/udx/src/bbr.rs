//! BBR v1 congestion control, sans-IO (`libudx src/udx_bbr.c`, itself a port of Linux
//! `net/ipv4/tcp_bbr.c`). Works in packets like libudx, but keeps time at full `Instant`
//! resolution instead of libudx's milliseconds: on loopback and LANs the RTT is well below a
//! millisecond and millisecond rounding makes the BDP estimate meaningless.
//!
//! What is here: STARTUP / DRAIN / PROBE_BW (gain cycle `[1.25, 0.75, 1 × 6]`, randomised
//! start) / PROBE_RTT (cwnd 4 for 200 ms + one round when the 10 s min-RTT filter expires);
//! windowed-max bandwidth filter over 10 rounds; full-pipe detection (< 25 % growth for 3
//! rounds); ACK-aggregation allowance (5-round window, capped at 100 ms of bandwidth) and the
//! TSO-style quantization budget, both needed because our receivers answer a whole GRO batch
//! with one ACK; packet conservation on entering recovery and restoring the prior cwnd on
//! leaving it; pacing rate `bw · mss · gain · 0.99`.
//!
//! Left out, as in libudx's working subset: long-term (policer) bandwidth sampling. The
//! sender-side quirk noted in `05-udx.md` §6 (cwnd = 0xFFFF after fast recovery) is not copied.

use std::time::{Duration, Instant};

use crate::rate::RateSample;

pub const INIT_CWND: u64 = 10;
pub const MIN_CWND: u64 = 4;
/// Sanity cap; the peer's receive window (4 MiB ≈ 3600 packets) binds first.
pub const MAX_CWND: u64 = 16_384;

const HIGH_GAIN: f64 = 2.88539; // 2 / ln 2
const DRAIN_GAIN: f64 = 1.0 / 2.88539;
const CWND_GAIN: f64 = 2.0;
const PACING_GAIN: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
const CYCLE_RAND: usize = 7;
const BW_FILTER_ROUNDS: u64 = 10;
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
const PROBE_RTT_TIME: Duration = Duration::from_millis(200);
const FULL_BW_THRESH: f64 = 1.25;
const FULL_BW_COUNT: u32 = 3;
const PACING_MARGIN: f64 = 0.99;
const EXTRA_ACKED_WIN_ROUNDS: u32 = 5;
const EXTRA_ACKED_MAX: Duration = Duration::from_millis(100);
/// Largest burst the pacer releases at once (one GSO send).
const MAX_QUANTUM_BYTES: f64 = 64.0 * 1024.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}

/// Loss-recovery state of the sender (`UDX_CA_OPEN` / `_RECOVERY` / `_LOSS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaState {
    Open,
    Recovery,
    Loss,
}

/// Kathleen Nichols' windowed max filter (Linux `lib/win_minmax.c`), keyed by round count.
#[derive(Debug, Clone, Copy, Default)]
struct MaxFilter {
    s: [(u64, f64); 3],
}

impl MaxFilter {
    fn get(&self) -> f64 {
        self.s[0].1
    }

    fn reset(&mut self, t: u64, v: f64) -> f64 {
        self.s = [(t, v); 3];
        v
    }

    fn update(&mut self, win: u64, t: u64, v: f64) -> f64 {
        if v >= self.s[0].1 || t.saturating_sub(self.s[2].0) > win {
            return self.reset(t, v);
        }
        if v >= self.s[1].1 {
            self.s[1] = (t, v);
            self.s[2] = (t, v);
        } else if v >= self.s[2].1 {
            self.s[2] = (t, v);
        }
        let dt = t.saturating_sub(self.s[0].0);
        if dt > win {
            self.s[0] = self.s[1];
            self.s[1] = self.s[2];
            self.s[2] = (t, v);
            if t.saturating_sub(self.s[0].0) > win {
                self.s[0] = self.s[1];
                self.s[1] = self.s[2];
                self.s[2] = (t, v);
            }
        } else if self.s[1].0 == self.s[0].0 && dt > win / 4 {
            self.s[1] = (t, v);
            self.s[2] = (t, v);
        } else if self.s[2].0 == self.s[1].0 && dt > win / 2 {
            self.s[2] = (t, v);
        }
        self.s[0].1
    }
}

#[derive(Debug)]
pub struct Bbr {
    mode: Mode,
    mss: usize,
    cwnd: u64,
    /// bytes per second
    pacing_rate: f64,
    pacing_gain: f64,
    cwnd_gain: f64,
    /// packets per second
    bw: MaxFilter,
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    has_seen_rtt: bool,
    probe_rtt_done: Option<Instant>,
    probe_rtt_round_done: bool,
    rounds: u64,
    next_rtt_delivered: u64,
    round_start: bool,
    full_bw: f64,
    full_bw_count: u32,
    full_bw_reached: bool,
    cycle_index: usize,
    cycle_stamp: Instant,
    prior_cwnd: u64,
    prev_ca: CaState,
    packet_conservation: bool,
    idle_restart: bool,
    extra_acked: [u64; 2],
    extra_acked_idx: usize,
    extra_acked_win_rounds: u32,
    ack_epoch_start: Instant,
    ack_epoch_acked: u64,
    rng: u32,
}

impl Bbr {
    pub fn new(now: Instant, mss: usize) -> Self {
        let mut b = Bbr {
            mode: Mode::Startup,
            mss: mss.max(1),
            cwnd: INIT_CWND,
            pacing_rate: 0.0,
            pacing_gain: HIGH_GAIN,
            cwnd_gain: HIGH_GAIN,
            bw: MaxFilter::default(),
            min_rtt: None,
            min_rtt_stamp: now,
            has_seen_rtt: false,
            probe_rtt_done: None,
            probe_rtt_round_done: false,
            rounds: 0,
            next_rtt_delivered: 0,
            round_start: false,
            full_bw: 0.0,
            full_bw_count: 0,
            full_bw_reached: false,
            cycle_index: 0,
            cycle_stamp: now,
            prior_cwnd: 0,
            prev_ca: CaState::Open,
            packet_conservation: false,
            idle_restart: false,
            extra_acked: [0; 2],
            extra_acked_idx: 0,
            extra_acked_win_rounds: 0,
            ack_epoch_start: now,
            ack_epoch_acked: 0,
            rng: rand::random::<u32>() | 1,
        };
        b.init_pacing_rate(None);
        b
    }

    /// Payload bytes per packet changed (MTU probing): later pacing rates use the new size.
    pub fn set_mss(&mut self, mss: usize) {
        self.mss = mss.max(1);
    }

    /// Fixes the random source (the PROBE_BW cycle start), for reproducible simulations.
    #[cfg(test)]
    pub(crate) fn seed(&mut self, seed: u32) {
        self.rng = seed | 1;
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Congestion window in packets (bounds what is in the network, SACKed packets excluded).
    pub fn cwnd(&self) -> u64 {
        self.cwnd
    }
    /// Bytes per second.
    pub fn pacing_rate(&self) -> f64 {
        self.pacing_rate
    }
    /// Bottleneck bandwidth estimate, packets per second.
    pub fn bandwidth(&self) -> f64 {
        self.bw.get()
    }
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }
    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }

    /// Packets per GSO burst at the current pacing rate (Linux `bbr_tso_segs_goal`): about 1 ms
    /// worth, at least 2, at most 64 KiB.
    pub fn send_quantum(&self) -> u64 {
        let bytes = (self.pacing_rate / 1000.0).min(MAX_QUANTUM_BYTES);
        ((bytes / self.mss as f64) as u64).max(2)
    }

    fn init_pacing_rate(&mut self, srtt: Option<Duration>) {
        let rtt = match srtt {
            Some(r) => {
                self.has_seen_rtt = true;
                r.max(Duration::from_micros(1))
            }
            None => Duration::from_millis(1),
        };
        let bw = self.cwnd as f64 / rtt.as_secs_f64();
        self.pacing_rate = bw * self.mss as f64 * HIGH_GAIN * PACING_MARGIN;
    }

    fn set_pacing_rate(&mut self, bw: f64, gain: f64) {
        let rate = bw * self.mss as f64 * gain * PACING_MARGIN;
        if !self.has_seen_rtt {
            if let Some(r) = self.min_rtt {
                self.init_pacing_rate(Some(r));
            }
        }
        if rate > 0.0 && (self.full_bw_reached || rate > self.pacing_rate) {
            self.pacing_rate = rate;
        }
    }

    /// Packets needed to fill `bw × min_rtt × gain`.
    fn bdp(&self, bw: f64, gain: f64) -> u64 {
        match self.min_rtt {
            None => INIT_CWND,
            Some(r) => (bw * r.as_secs_f64() * gain).ceil() as u64,
        }
    }

    fn ack_aggregation_cwnd(&self) -> u64 {
        if !self.full_bw_reached {
            return 0;
        }
        let max = (self.bw.get() * EXTRA_ACKED_MAX.as_secs_f64()) as u64;
        self.extra_acked[0].max(self.extra_acked[1]).min(max)
    }

    fn quantization_budget(&self, cwnd: u64) -> u64 {
        let mut c = cwnd + 3 * self.send_quantum();
        c = (c + 1) & !1;
        if self.mode == Mode::ProbeBw && self.cycle_index == 0 {
            c += 2;
        }
        c
    }

    /// Called when entering recovery or loss (`bbr_save_cwnd` via `ssthresh`).
    pub fn save_cwnd(&mut self) {
        if self.prev_ca < CaState::Recovery && self.mode != Mode::ProbeRtt {
            self.prior_cwnd = self.cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(self.cwnd);
        }
    }

    /// Retransmission timeout (`CA_LOSS`): start again from the minimum window; the full-pipe
    /// estimate is forgotten.
    pub fn on_rto(&mut self) {
        self.save_cwnd();
        self.prev_ca = CaState::Loss;
        self.full_bw = 0.0;
        self.full_bw_count = 0;
        self.round_start = true;
        self.cwnd = MIN_CWND;
    }

    /// Sending again after the pipe ran dry (`CA_EVENT_TX_START`).
    pub fn on_restart_from_idle(&mut self, now: Instant) {
        self.idle_restart = true;
        self.ack_epoch_acked = 0;
        match self.mode {
            Mode::ProbeBw => self.set_pacing_rate(self.bw.get(), 1.0),
            Mode::ProbeRtt => self.check_probe_rtt_done(now),
            _ => {}
        }
    }

    /// `bbr_main`: one ACK was processed. `delivered` is the running delivered count, `inflight`
    /// the packets still in the network (SACKed excluded) after this ACK.
    pub fn on_ack(
        &mut self,
        now: Instant,
        rs: &RateSample,
        delivered: u64,
        inflight: u64,
        ca: CaState,
    ) {
        self.update_bw(rs, delivered);
        self.update_ack_aggregation(now, rs);
        self.update_cycle_phase(now, rs, inflight);
        self.check_full_bw_reached(rs);
        self.check_drain(now, inflight);
        self.update_min_rtt(now, rs, delivered, inflight);
        self.update_gains();
        let bw = self.bw.get();
        self.set_pacing_rate(bw, self.pacing_gain);
        self.set_cwnd(rs, delivered, inflight, ca, bw);
    }

    fn update_bw(&mut self, rs: &RateSample, delivered: u64) {
        self.round_start = false;
        if rs.delivered == 0 {
            return;
        }
        if rs.prior_delivered >= self.next_rtt_delivered {
            self.next_rtt_delivered = delivered;
            self.rounds += 1;
            self.round_start = true;
            self.packet_conservation = false;
        }
        let Some(interval) = rs.interval else {
            return;
        };
        let bw = rs.delivered as f64 / interval.as_secs_f64();
        if !rs.is_app_limited || bw >= self.bw.get() {
            self.bw.update(BW_FILTER_ROUNDS, self.rounds, bw);
        }
    }

    fn update_ack_aggregation(&mut self, now: Instant, rs: &RateSample) {
        if rs.acked_sacked == 0 || rs.delivered == 0 {
            return;
        }
        if self.round_start {
            self.extra_acked_win_rounds = (self.extra_acked_win_rounds + 1).min(31);
            if self.extra_acked_win_rounds >= EXTRA_ACKED_WIN_ROUNDS {
                self.extra_acked_win_rounds = 0;
                self.extra_acked_idx ^= 1;
                self.extra_acked[self.extra_acked_idx] = 0;
            }
        }
        let epoch = now.saturating_duration_since(self.ack_epoch_start);
        let mut expected = (self.bw.get() * epoch.as_secs_f64()) as u64;
        if self.ack_epoch_acked <= expected {
            self.ack_epoch_acked = 0;
            self.ack_epoch_start = now;
            expected = 0;
        }
        self.ack_epoch_acked = (self.ack_epoch_acked + rs.acked_sacked).min(0xF_FFFF);
        let extra = (self.ack_epoch_acked - expected.min(self.ack_epoch_acked)).min(self.cwnd);
        let slot = &mut self.extra_acked[self.extra_acked_idx];
        *slot = (*slot).max(extra);
    }

    fn update_cycle_phase(&mut self, now: Instant, rs: &RateSample, inflight: u64) {
        if self.mode != Mode::ProbeBw {
            return;
        }
        let full_length = self
            .min_rtt
            .is_none_or(|m| now.saturating_duration_since(self.cycle_stamp) > m);
        let gain = PACING_GAIN[self.cycle_index];
        let bw = self.bw.get();
        let next = if gain == 1.0 {
            full_length
        } else if gain > 1.0 {
            full_length && (rs.losses > 0 || inflight >= self.bdp(bw, gain))
        } else {
            full_length || inflight <= self.bdp(bw, 1.0)
        };
        if next {
            self.advance_cycle(now);
        }
    }

    fn advance_cycle(&mut self, now: Instant) {
        self.cycle_index = (self.cycle_index + 1) % PACING_GAIN.len();
        self.cycle_stamp = now;
    }

    fn random_below(&mut self, n: usize) -> usize {
        // xorshift32: cheap, and the phase choice needs no quality
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        self.rng as usize % n.max(1)
    }

    fn reset_probe_bw(&mut self, now: Instant) {
        self.mode = Mode::ProbeBw;
        self.cycle_index = PACING_GAIN.len() - 1 - self.random_below(CYCLE_RAND);
        self.advance_cycle(now);
    }

    fn reset_mode(&mut self, now: Instant) {
        if self.full_bw_reached {
            self.reset_probe_bw(now);
        } else {
            self.mode = Mode::Startup;
        }
    }

    fn check_full_bw_reached(&mut self, rs: &RateSample) {
        if self.full_bw_reached || !self.round_start || rs.is_app_limited {
            return;
        }
        let bw = self.bw.get();
        if bw >= self.full_bw * FULL_BW_THRESH {
            self.full_bw = bw;
            self.full_bw_count = 0;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_reached = self.full_bw_count >= FULL_BW_COUNT;
    }

    fn check_drain(&mut self, now: Instant, inflight: u64) {
        if self.mode == Mode::Startup && self.full_bw_reached {
            self.mode = Mode::Drain;
        }
        if self.mode == Mode::Drain && inflight <= self.bdp(self.bw.get(), 1.0) {
            self.reset_probe_bw(now);
        }
    }

    fn check_probe_rtt_done(&mut self, now: Instant) {
        if self.probe_rtt_done.is_some_and(|d| now >= d) {
            self.min_rtt_stamp = now;
            self.cwnd = self.cwnd.max(self.prior_cwnd);
            self.probe_rtt_done = None;
            self.reset_mode(now);
        }
    }

    fn update_min_rtt(&mut self, now: Instant, rs: &RateSample, delivered: u64, inflight: u64) {
        let expired = now.saturating_duration_since(self.min_rtt_stamp) > MIN_RTT_WINDOW;
        if let Some(r) = rs.rtt {
            if self.min_rtt.is_none_or(|m| r < m) || expired {
                self.min_rtt = Some(r);
                self.min_rtt_stamp = now;
            }
        }
        if expired && !self.idle_restart && self.mode != Mode::ProbeRtt {
            self.mode = Mode::ProbeRtt;
            self.save_cwnd();
            self.probe_rtt_done = None;
        }
        if self.mode == Mode::ProbeRtt {
            match self.probe_rtt_done {
                None if inflight <= MIN_CWND => {
                    self.probe_rtt_done = Some(now + PROBE_RTT_TIME);
                    self.probe_rtt_round_done = false;
                    self.next_rtt_delivered = delivered;
                }
                None => {}
                Some(_) => {
                    if self.round_start {
                        self.probe_rtt_round_done = true;
                    }
                    if self.probe_rtt_round_done {
                        self.check_probe_rtt_done(now);
                    }
                }
            }
        }
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    fn update_gains(&mut self) {
        let (p, c) = match self.mode {
            Mode::Startup => (HIGH_GAIN, HIGH_GAIN),
            Mode::Drain => (DRAIN_GAIN, HIGH_GAIN),
            Mode::ProbeBw => (PACING_GAIN[self.cycle_index], CWND_GAIN),
            Mode::ProbeRtt => (1.0, 1.0),
        };
        self.pacing_gain = p;
        self.cwnd_gain = c;
    }

    fn set_cwnd(&mut self, rs: &RateSample, delivered: u64, inflight: u64, ca: CaState, bw: f64) {
        let acked = rs.acked_sacked;
        let mut cwnd = self.cwnd;
        if acked > 0 {
            // bbr_set_cwnd_to_recover_or_restore
            if rs.losses > 0 {
                cwnd = cwnd.saturating_sub(rs.losses).max(1);
            }
            if ca == CaState::Recovery && self.prev_ca != CaState::Recovery {
                self.packet_conservation = true;
                self.next_rtt_delivered = delivered;
                cwnd = inflight + acked;
            } else if self.prev_ca >= CaState::Recovery && ca < CaState::Recovery {
                cwnd = cwnd.max(self.prior_cwnd);
                self.packet_conservation = false;
            }
            self.prev_ca = ca;
            if self.packet_conservation {
                cwnd = cwnd.max(inflight + acked);
            } else {
                let target = self.quantization_budget(
                    self.bdp(bw, self.cwnd_gain) + self.ack_aggregation_cwnd(),
                );
                if self.full_bw_reached {
                    cwnd = (cwnd + acked).min(target);
                } else if cwnd < target || delivered < INIT_CWND {
                    cwnd += acked;
                }
                cwnd = cwnd.max(MIN_CWND);
            }
        }
        self.cwnd = cwnd.min(MAX_CWND);
        if self.mode == Mode::ProbeRtt {
            self.cwnd = self.cwnd.min(MIN_CWND);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::RateSampler;

    /// A virtual path: a bottleneck of `rate` packets/s and a fixed propagation RTT, driven
    /// packet by packet by BBR's cwnd and pacing rate.
    fn simulate(rate: f64, rtt: Duration, secs: f64) -> (Bbr, f64) {
        let t0 = Instant::now();
        let mss = 1152;
        let mut bbr = Bbr::new(t0, mss);
        let mut sampler = RateSampler::new(t0);
        let mut now = t0;
        let end = t0 + Duration::from_secs_f64(secs);
        // in flight: (departure from the bottleneck + rtt = ack time, sent_at, snapshot)
        let mut pipe: std::collections::VecDeque<(Instant, Instant, crate::rate::PacketRate)> =
            Default::default();
        let mut link_free = t0;
        let mut next_send = t0;
        let mut acked_total = 0u64;
        let service = Duration::from_secs_f64(1.0 / rate);
        while now < end {
            // send while cwnd and pacing allow
            while (pipe.len() as u64) < bbr.cwnd() && next_send <= now {
                let snap = sampler.on_sent(now, pipe.is_empty());
                let depart = link_free.max(now) + service;
                link_free = depart;
                pipe.push_back((depart + rtt, now, snap));
                next_send += Duration::from_secs_f64(mss as f64 / bbr.pacing_rate());
                if next_send < now {
                    next_send = now;
                }
            }
            // next event: an ack or the pacer
            let ack_at = pipe.front().map(|p| p.0);
            let wake = match ack_at {
                Some(a) if (pipe.len() as u64) >= bbr.cwnd() => a,
                Some(a) => a.min(next_send.max(now + Duration::from_micros(1))),
                None => next_send.max(now + Duration::from_micros(1)),
            };
            now = wake;
            let mut acked = 0;
            let mut rtt_sample = None;
            while pipe.front().is_some_and(|p| p.0 <= now) {
                let (_, sent, snap) = pipe.pop_front().unwrap();
                sampler.on_delivered(&snap, sent);
                rtt_sample = Some(now - sent);
                acked += 1;
            }
            if acked > 0 {
                acked_total += acked;
                let rs = sampler.generate(now, acked, 0, bbr.min_rtt(), rtt_sample);
                bbr.on_ack(
                    now,
                    &rs,
                    sampler.delivered,
                    pipe.len() as u64,
                    CaState::Open,
                );
            }
        }
        (bbr, acked_total as f64 / secs)
    }

    #[test]
    fn finds_the_bottleneck_and_keeps_the_queue_short() {
        let rate = 10_000.0; // packets/s (~11.5 MB/s)
        let rtt = Duration::from_millis(20);
        let (bbr, goodput) = simulate(rate, rtt, 10.0);
        assert!(bbr.full_bw_reached());
        assert_eq!(bbr.mode(), Mode::ProbeBw);
        let bw = bbr.bandwidth();
        assert!((bw - rate).abs() / rate < 0.1, "bw estimate {bw}");
        assert!(goodput > 0.85 * rate, "goodput {goodput}");
        let min_rtt = bbr.min_rtt().unwrap();
        assert!(
            min_rtt >= rtt && min_rtt < rtt + Duration::from_millis(2),
            "{min_rtt:?}"
        );
        // cwnd ≈ 2 × BDP (+ quantization), not the 16k cap
        let bdp = rate * rtt.as_secs_f64();
        assert!(
            (bbr.cwnd() as f64) < 3.0 * bdp + 40.0,
            "cwnd {}",
            bbr.cwnd()
        );
        let pacing_pps = bbr.pacing_rate() / 1152.0;
        assert!(
            pacing_pps > 0.7 * rate && pacing_pps < 1.3 * rate,
            "{pacing_pps}"
        );
    }

    #[test]
    fn probe_rtt_after_ten_seconds() {
        let (bbr, goodput) = simulate(5_000.0, Duration::from_millis(10), 10.3);
        // the min-RTT filter expired once: PROBE_RTT ran (or runs) and the flow kept going
        assert!(goodput > 0.8 * 5_000.0, "{goodput}");
        assert!(matches!(bbr.mode(), Mode::ProbeBw | Mode::ProbeRtt));
    }

    #[test]
    fn recovery_conserves_then_restores() {
        let t0 = Instant::now();
        let mut bbr = Bbr::new(t0, 1152);
        bbr.cwnd = 100;
        bbr.save_cwnd();
        let rs = RateSample {
            acked_sacked: 2,
            losses: 1,
            delivered: 2,
            ..RateSample::default()
        };
        bbr.on_ack(t0, &rs, 50, 30, CaState::Recovery);
        assert_eq!(bbr.cwnd(), 32);
        bbr.on_ack(t0, &rs, 52, 30, CaState::Open);
        assert!(bbr.cwnd() >= 100);
        bbr.on_rto();
        assert_eq!(bbr.cwnd(), MIN_CWND);
    }

    #[test]
    fn max_filter_expires_old_samples() {
        let mut f = MaxFilter::default();
        f.update(10, 0, 100.0);
        for t in 1..=10 {
            assert_eq!(f.update(10, t, 50.0), 100.0);
        }
        assert_eq!(f.update(10, 30, 40.0), 40.0);
    }
}
