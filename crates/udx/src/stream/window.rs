//! Flow control: the receive window we advertise (`libudx src/udx.c: get_recv_rwnd`), the
//! peer's window we obey (`send_window_in_packets`, the SND.WL1/WL2 update in
//! `process_packet`) and zero-window probing (`udx_zwp_timeout`).
//!
//! A window smaller than one full packet counts as closed (libudx rounds
//! `send_rwnd / max_payload` down). While it is closed and nothing is in flight no ACK would
//! ever tell us that it reopened, so a persist timer sends HEARTBEAT probes, which the peer
//! answers with an ACK carrying its current window. libudx 1.21 probes with a new DATA packet
//! instead; a HEARTBEAT keeps the bytes queued at the receiver within its window. The receiver
//! side also volunteers a window update once its reader has drained a good part of the buffer.

use std::time::{Duration, Instant};

use super::{Stream, MAX_RTO};
use crate::header::{self, seq_le, seq_lt, Header};

/// Read this much (or half the window, if smaller) past the last advertisement before sending
/// an unsolicited window update.
const WINDOW_UPDATE_STEP: u32 = 64 * 1024;

impl Stream {
    /// `udx_stream_set_rwnd_max`: the receive window advertised while nothing is buffered
    /// (default [`super::RWND_MAX`], 4 MiB).
    pub fn set_recv_window(&mut self, max: u32) {
        self.rwnd_max = max;
        self.check_window_update();
    }

    /// The window we advertise now: `recv_rwnd_max − buffered` (`get_recv_rwnd`), where
    /// buffered = unread in-order bytes + what the application reported holding.
    pub(super) fn rwnd(&self) -> u32 {
        let buffered = self.recv_buffered.saturating_add(self.rbuf.len());
        let buffered = buffered.min(u32::MAX as usize) as u32;
        self.rwnd_max.saturating_sub(buffered)
    }

    /// [`Stream::rwnd`], remembered as the last value put on the wire.
    pub(super) fn advertise_rwnd(&mut self) -> u32 {
        self.advertised_rwnd = self.rwnd();
        self.advertised_rwnd
    }

    /// Queues an ACK when the window grew well past what the peer last heard (a sender stalled
    /// on our window would otherwise wait for its next zero-window probe).
    pub(super) fn check_window_update(&mut self) {
        if self.window_update_due() {
            self.ack_needed = true;
        }
    }

    /// The window grew well past what the peer last heard: an ACK should tell it now.
    pub fn window_update_due(&self) -> bool {
        let step = WINDOW_UPDATE_STEP.min(self.rwnd_max / 2).max(1);
        self.connected && self.rwnd() >= self.advertised_rwnd.saturating_add(step)
    }

    /// The peer's window in whole packets (`send_rwnd_in_packets`, rounded down).
    fn rwnd_packets(&self) -> usize {
        self.send_rwnd as usize / self.mss()
    }

    /// Room in the peer's receive window for one more packet.
    pub(super) fn rwnd_allows(&self) -> bool {
        self.inflight.len() < self.rwnd_packets()
    }

    /// Window update from an acceptable ACK (`process_packet`): taken only from a packet that
    /// is not older than the one that set the current window (seq, then ack, compared).
    pub(super) fn on_window(&mut self, h: &Header) {
        if seq_lt(self.send_wl1, h.seq) || (self.send_wl1 == h.seq && seq_le(self.send_wl2, h.ack))
        {
            self.send_rwnd = h.rwnd;
            self.send_wl1 = h.seq;
            self.send_wl2 = h.ack;
        }
    }

    /// Arms the persist timer when data waits on a closed window with nothing in flight (no ACK
    /// is coming), disarms it otherwise (`arm_stream_timers` stops `zwp_timer`).
    pub(super) fn update_zero_window(&mut self, now: Instant) {
        let waiting = self.unsent_bytes() > 0 || (self.end_queued && self.end_seq.is_none());
        if waiting && self.inflight.is_empty() && self.rwnd_packets() == 0 {
            if self.zwp_deadline.is_none() {
                self.zwp_deadline = Some(now + self.zwp_interval());
            }
        } else {
            self.zwp_deadline = None;
            self.zwp_backoff = 0;
        }
    }

    /// `rto` for the first probe, then `2·rto` (libudx re-arms `zwp_timer` at `rto` / `2·rto`).
    fn zwp_interval(&self) -> Duration {
        (self.rto * (1 << self.zwp_backoff.min(1))).min(MAX_RTO)
    }

    /// `udx_zwp_timeout`: one HEARTBEAT; the peer answers with an ACK carrying its window.
    pub(super) fn zero_window_probe(&mut self, now: Instant) {
        self.zwp_deadline = None;
        if !self.connected || self.closed {
            return;
        }
        let h = self.header(header::HEARTBEAT, self.seq);
        self.out.push_with(|d| h.write(d));
        self.zwp_count += 1;
        self.zwp_backoff += 1;
        self.zwp_deadline = Some(now + self.zwp_interval());
    }
}
