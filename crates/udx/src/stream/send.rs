//! Sending: the window check, packetising queued data (`libudx src/udx.c: send_new_packet`,
//! `_send_packet`), (re)transmission into the [`TxQueue`](crate::txqueue::TxQueue) and the
//! tail-loss-probe interval (`schedule_loss_probe`).

use std::time::{Duration, Instant};

use super::{Sent, Stream, StreamEvent};
use crate::header::{self, HEADER_SIZE};

impl Stream {
    /// May a new packet go out: room in the congestion window (packets in the network) and in
    /// the peer's receive window (everything unacknowledged; `send_window_in_packets`).
    fn window_open(&self) -> bool {
        let cwnd = (self.bbr.cwnd() as usize).max(1);
        self.pipe() < cwnd && self.rwnd_allows()
    }

    pub(super) fn transmit(&mut self, idx: usize, now: Instant) {
        let Some(p) = self.inflight.get_mut(idx) else {
            return;
        };
        if std::mem::take(&mut p.lost) {
            self.lost = self.lost.saturating_sub(1);
        }
        let p = &self.inflight[idx];
        let (kind, seq) = (p.kind, p.seq);
        if p.probe && p.transmissions > 0 {
            // a probe sent again (lost, or as a TLP) goes without its padding and counts as
            // a failed probe (`mtu_unprobeify_packet`)
            let p = &mut self.inflight[idx];
            p.probe = false;
            p.pad = 0;
            self.pmtu.on_probe_lost();
        }
        let mut h = self.header(kind, seq);
        let Some(p) = self.inflight.get(idx) else {
            return;
        };
        h.data_offset = p.pad;
        let start = p.off.saturating_sub(self.sbuf_base) as usize;
        let len = p.len as usize;
        let pad = p.pad as usize;
        let sbuf = &self.sbuf;
        self.out.push_with(|d| {
            h.write(d);
            d.resize(d.len() + pad, 0);
            sbuf.copy_range(start, len, d);
        });
        // this packet is counted in the pipe already: the pipe was empty if it is the only one
        let snap = self.rate.on_sent(now, self.pipe() <= 1);
        self.pacer.on_sent(HEADER_SIZE + pad + len);
        let p = &mut self.inflight[idx];
        p.sent_at = now;
        p.rate = snap;
        p.transmissions += 1;
        if p.transmissions > 1 {
            self.retransmits += 1;
        }
        self.packets_sent += 1;
        // every packet carries the current ack: no separate ACK needed
        self.ack_needed = false;
    }

    /// Packetises queued data while the congestion and receive windows allow.
    pub(super) fn fill(&mut self, now: Instant) {
        if !self.connected || self.closed {
            return;
        }
        self.pacing_deadline = None;
        loop {
            // packets a retransmission timeout marked lost go first, as the window allows
            let retransmit = self.lost > 0;
            if !retransmit {
                let unsent = self.unsent_bytes();
                let has_end = self.end_queued && self.end_seq.is_none();
                if unsent == 0 && !has_end {
                    if self.pipe() < self.bbr.cwnd() as usize {
                        self.rate.set_app_limited(self.pipe());
                    }
                    break;
                }
            }
            if !self.window_open() {
                break;
            }
            if self.out.bytes() >= super::TX_BURST {
                self.fill_more = true;
                break;
            }
            if !self.pacer.ready(now) {
                self.pacing_deadline = Some(self.pacer.next_send_time(now));
                break;
            }
            if retransmit {
                match self.inflight.iter().position(|p| p.lost) {
                    Some(i) => self.transmit(i, now),
                    None => self.lost = 0,
                }
                continue;
            }
            if self.inflight.is_empty() && self.rate.is_app_limited() {
                self.bbr.on_restart_from_idle(now);
            }
            self.push_new_packet(now, true);
        }
        if !self.inflight.is_empty() {
            if self.rto_deadline.is_none() {
                self.rto_deadline = Some(now + self.rto);
            }
            if self.pto_deadline.is_none() {
                self.pto_deadline = Some(now + self.pto());
            }
        }
        self.update_zero_window(now);
        if self.write_blocked && !self.is_write_blocked() {
            self.write_blocked = false;
            self.events.push_back(StreamEvent::Drain);
        }
    }

    /// Packetises and sends the next DATA (up to [`Stream::mss`] queued bytes) or the END
    /// packet, as an MTU probe if one is wanted and `may_probe` (not for loss probes). False if
    /// there is nothing to send.
    pub(super) fn push_new_packet(&mut self, now: Instant, may_probe: bool) -> bool {
        let unsent = self.unsent_bytes();
        let (kind, len) = if unsent > 0 {
            (header::DATA, unsent.min(self.mss()))
        } else if self.end_queued && self.end_seq.is_none() {
            self.end_seq = Some(self.seq);
            (header::END, 0)
        } else {
            return false;
        };
        let pad = if may_probe && len > 0 {
            self.pmtu.probe_padding(HEADER_SIZE + len)
        } else {
            None
        };
        if pad.is_some() {
            self.pmtu.on_probe_sent();
        }
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.inflight.push_back(Sent {
            seq,
            kind,
            off: self.sent_end,
            len: len as u16,
            sent_at: now,
            transmissions: 0,
            rto_count: 0,
            sacked: false,
            lost: false,
            rate: self.rate.on_sent(now, false),
            probe: pad.is_some(),
            pad: pad.unwrap_or(0),
        });
        self.sent_end += len as u64;
        let idx = self.inflight.len() - 1;
        self.transmit(idx, now);
        true
    }

    /// Payload bytes per packet (`udx__max_payload`).
    pub(super) fn mss(&self) -> usize {
        self.pmtu.max_payload()
    }

    pub(super) fn pto(&self) -> Duration {
        let base = match self.srtt {
            Some(s) => (s * 2 + Duration::from_millis(2)).max(Duration::from_millis(5)),
            None => Duration::from_millis(250),
        };
        (base * (1 << self.pto_backoff.min(6))).min(self.rto)
    }
}
