//! Processing ACKs: cumulative and SACK acknowledgement, RTT/RTO estimation and RACK loss
//! detection with fast recovery (`libudx src/udx.c: process_packet`, `ack_packet`,
//! `rack_detect_loss`).

use std::time::{Duration, Instant};

use super::{Sent, Stream, MAX_RTO, MIN_RTO};
use crate::bbr::CaState;
use crate::header::{self, seq_le, seq_lt, Header, HEADER_SIZE};

impl Stream {
    /// Index of the in-flight packet with sequence number `seq`.
    fn index_of(&self, seq: u32) -> Option<usize> {
        let front = self.inflight.front()?.seq;
        let i = seq.wrapping_sub(front) as usize;
        (i < self.inflight.len()).then_some(i)
    }

    pub(super) fn on_ack(&mut self, h: &Header, d: &[u8], now: Instant) {
        if !seq_le(self.remote_acked, h.ack) || !seq_le(h.ack, self.seq) {
            return;
        }
        self.on_window(h);
        let mut progressed = false;
        let mut acked_sacked = 0u64;
        // one RTT sample per ACK, from the newest newly acked first transmission
        let mut rtt_from: Option<Instant> = None;
        while let Some(p) = self.inflight.front() {
            if !seq_lt(p.seq, h.ack) {
                break;
            }
            let Some(p) = self.inflight.pop_front() else {
                break;
            };
            if p.lost {
                self.lost = self.lost.saturating_sub(1);
            }
            if p.sacked {
                self.sacked = self.sacked.saturating_sub(1);
                self.sacked_bytes = self.sacked_bytes.saturating_sub(p.len as usize);
            } else {
                if p.transmissions == 1 {
                    rtt_from = Some(p.sent_at);
                }
                self.rate.on_delivered(&p.rate, p.sent_at);
                acked_sacked += 1;
                self.mtu_on_acked(p.probe);
            }
            self.rack_update(p.sent_at, p.transmissions);
            progressed = true;
        }
        if progressed {
            let keep_from = self.inflight.front().map_or(self.sent_end, |p| p.off);
            self.sbuf
                .drop_front(keep_from.saturating_sub(self.sbuf_base) as usize);
            self.sbuf_base = self.sbuf_base.max(keep_from);
            if self.inflight.is_empty() && self.sbuf.is_empty() {
                self.trim_send_idle();
            }
        }
        let rtt = rtt_from.map(|t| now.saturating_duration_since(t));
        if let Some(r) = rtt {
            self.rtt_sample(r);
        }
        self.remote_acked = h.ack;
        let mut sacked_any = false;
        if h.kind & header::SACK != 0 {
            let raw = d.get(HEADER_SIZE..).unwrap_or(&[]);
            let l = if h.data_offset > 0 && (h.data_offset as usize) < raw.len() {
                h.data_offset as usize
            } else {
                raw.len()
            };
            for b in raw[..l].chunks_exact(8) {
                let s = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let e = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                if !(seq_le(self.remote_acked, s) && seq_lt(s, e) && seq_le(e, self.seq)) {
                    continue;
                }
                let (Some(i), Some(j)) = (self.index_of(s), self.index_of(e.wrapping_sub(1)))
                else {
                    continue;
                };
                for k in i..=j {
                    let p = &mut self.inflight[k];
                    if !p.sacked {
                        p.sacked = true;
                        if std::mem::take(&mut p.lost) {
                            self.lost = self.lost.saturating_sub(1);
                        }
                        let p = &self.inflight[k];
                        let (sent_at, tx, rate) = (p.sent_at, p.transmissions, p.rate);
                        let (probe, len) = (p.probe, p.len as usize);
                        self.mtu_on_acked(probe);
                        self.sacked += 1;
                        self.sacked_bytes += len;
                        acked_sacked += 1;
                        sacked_any = true;
                        self.rate.on_delivered(&rate, sent_at);
                        self.rack_update(sent_at, tx);
                    }
                }
            }
        }
        if let Some(r) = self.recovery_until {
            if seq_lt(r, self.remote_acked) {
                self.recovery_until = None;
                self.ca = CaState::Open;
            }
        }
        // Without SACK blocks every delivered packet is cumulative, so nothing below it can be
        // outstanding: loss detection only has work to do when SACKs arrived.
        let mut losses = 0;
        if sacked_any {
            losses = self.detect_loss(now);
        }
        let rs = self
            .rate
            .generate(now, acked_sacked, losses, self.bbr.min_rtt(), rtt);
        let (delivered, pipe) = (self.rate.delivered, self.pipe() as u64);
        self.bbr.on_ack(now, &rs, delivered, pipe, self.ca);
        self.pacer.set_rate(self.bbr.pacing_rate());
        if progressed {
            self.pto_backoff = 0;
            self.rto_deadline = if self.inflight.is_empty() {
                None
            } else {
                Some(now + self.rto)
            };
            self.pto_deadline = if self.inflight.is_empty() {
                None
            } else {
                Some(now + self.pto())
            };
        }
        if let Some(e) = self.end_seq {
            if !self.local_ended && seq_lt(e, self.remote_acked) {
                self.local_ended = true;
            }
        }
    }

    fn rtt_sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((s * 7 + r) / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        self.rto = (s + self.rttvar * 4).clamp(MIN_RTO, MAX_RTO);
    }

    /// RACK state update for a delivered packet (RFC 8985 §6.2 step 2). Only first
    /// transmissions count: UDX has no timestamps to tell which copy of a retransmitted packet
    /// arrived, and the RFC's "RTT < min_rtt" test misfires once the original was merely
    /// delayed behind a queue — then the whole window would be declared lost. A lost
    /// retransmission is still found once later new data is delivered, or by TLP / RTO.
    fn rack_update(&mut self, sent_at: Instant, transmissions: u32) {
        if transmissions > 1 {
            return;
        }
        self.rack_xmit = Some(self.rack_xmit.map_or(sent_at, |t| t.max(sent_at)));
    }

    /// The smoothed RTT (the minimum RTT, or 100 ms, before a sample) and RACK's reordering
    /// window: min_rtt / 4, at least 1 ms, at most srtt (RFC 8985 §6.2.4).
    fn rtt_and_reordering_window(&self) -> (Duration, Duration) {
        let ms = Duration::from_millis(1);
        let min_rtt = self.bbr.min_rtt().or(self.srtt).unwrap_or(ms * 100);
        let srtt = self.srtt.unwrap_or(min_rtt);
        (srtt, (min_rtt / 4).max(ms).min(srtt.max(ms)))
    }

    /// RACK (RFC 8985, `rack_detect_loss`): an unacknowledged packet sent more than a
    /// reordering window (min_rtt / 4, at least 1 ms, at most srtt) before the most recently
    /// sent packet that was delivered is lost, and retransmitted right away.
    fn detect_loss(&mut self, now: Instant) -> u64 {
        let Some(xmit) = self.rack_xmit else {
            return 0;
        };
        let (_, reo) = self.rtt_and_reordering_window();
        let Some(cutoff) = xmit.checked_sub(reo) else {
            return 0;
        };
        let mut lost = Vec::new();
        for (i, p) in self.inflight.iter().enumerate() {
            if !p.sacked && p.sent_at <= cutoff {
                lost.push(i);
            }
        }
        if lost.is_empty() {
            return 0;
        }
        // a lost MTU probe alone says nothing about congestion (`rack_detect_loss`)
        if lost.iter().any(|&i| !self.inflight[i].probe) {
            self.enter_recovery();
        }
        let n = lost.len() as u64;
        for i in lost {
            self.transmit(i, now);
        }
        n
    }

    /// `udx_rto_timeout` (RFC 8985 §6.3): the unacknowledged packet at `head` and every other
    /// one not selectively acknowledged and sent more than an RTT plus the reordering window
    /// ago is lost. They leave the pipe and [`Stream::fill`] retransmits them as the reduced
    /// window allows. Retransmitting only the head left hundreds of lost packets counted in
    /// the pipe after a burst of losses, so the window never opened again and the transfer
    /// crawled on at one packet per timer (a 64 MiB exchange through the lossy proxy: 51 s).
    pub(super) fn mark_lost_on_rto(&mut self, head: usize, now: Instant) {
        let (srtt, reo) = self.rtt_and_reordering_window();
        self.mark_lost_where(|i, p| {
            i == head || now.saturating_duration_since(p.sent_at) >= srtt + reo
        });
    }

    /// The peer of an unverified stream spoke, acknowledging what it got: everything else
    /// goes at once (as the window allows) instead of one packet per loss-probe timeout, whose
    /// backoff made seven dropped packets take ~650 ms. That is what the budget kept from the
    /// wire (not counted as retransmissions, see `unsent`) and what went before the peer's
    /// stream existed (a JS peer drops datagrams for a stream it has not connected yet). They
    /// leave the pipe, as an RTO's losses do; the congestion state is untouched.
    pub(super) fn mark_unverified_drops_lost(&mut self) {
        self.mark_lost_where(|_, _| true);
    }

    /// Marks lost every packet neither selectively acknowledged nor marked already for which
    /// `lost(index, packet)` holds (see [`Stream::fill`] for what happens to them).
    fn mark_lost_where(&mut self, lost: impl Fn(usize, &Sent) -> bool) {
        let mut marked = 0;
        for (i, p) in self.inflight.iter_mut().enumerate() {
            if !p.sacked && !p.lost && lost(i, p) {
                p.lost = true;
                marked += 1;
            }
        }
        self.lost += marked;
    }

    fn enter_recovery(&mut self) {
        if self.ca != CaState::Open {
            return;
        }
        self.bbr.save_cwnd();
        self.counters.fast_recoveries += 1;
        self.ca = CaState::Recovery;
        self.recovery_until = Some(self.seq.wrapping_sub(1));
    }
}
