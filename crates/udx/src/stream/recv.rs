//! Receiving: in-order delivery into the read ring, the out-of-order buffer
//! (`libudx src/udx.c: process_data_packet`) and the ACK/SACK packet (`send_ack`).
//!
//! Everything a peer makes us hold is bounded by the window we advertise: unread in-order bytes
//! plus out-of-order packets (each charged [`OOO_ENTRY_COST`] on top of its payload, so tiny
//! packets cannot pile up either) may exceed `rwnd_max` only by [`window_slack`]. A DATA packet
//! past that is dropped unacknowledged, as TCP drops segments outside its window; an honest
//! sender never gets there (its bytes in flight are bounded by our last advertisement) and
//! retransmits once the reader drained. libudx has no such bound: its receiver keeps whatever
//! arrives. The packet that fills the hole in front of the out-of-order buffer may go one
//! datagram ([`HOLE_SLACK`]) past the bound.

use super::{Stream, StreamEvent, MAX_OOO, MAX_SACK_BLOCKS};

/// How far past the bound the packet at `ack` — the one that fills the hole in front of the
/// out-of-order buffer — may take us: one datagram of any size. Without it a libudx sender
/// deadlocked us: it does not count SACKed bytes against our window, so under loss it fills
/// the out-of-order buffer past the bound, and the retransmission that would have turned all
/// of it into readable bytes was dropped with the rest, forever (seen through the lossy
/// proxy of `tests/interop_js.rs`, ~1 run in 15).
pub(super) const HOLE_SLACK: usize = 64 * 1024;

/// Bookkeeping charged per out-of-order packet besides its payload (map node + vector header).
pub(super) const OOO_ENTRY_COST: usize = 64;

/// How far past `rwnd_max` buffered receive data may go: a quarter of the window plus 64 KiB
/// (window updates racing data in flight, a libudx sender's zero-window probe carrying data,
/// [`OOO_ENTRY_COST`] charged on an honest sender's full window of small packets).
pub(super) fn window_slack(rwnd_max: u32) -> usize {
    rwnd_max as usize / 4 + 64 * 1024
}
use crate::header::{self, seq_lt, Header};

impl Stream {
    pub(super) fn send_ack(&mut self) {
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        let mut cur: Option<(u64, u64)> = None;
        for &k in self.ooo.keys() {
            match cur {
                Some((s, e)) if e == k => cur = Some((s, e + 1)),
                Some(c) => {
                    blocks.push(self.block(c));
                    if blocks.len() == MAX_SACK_BLOCKS {
                        cur = None;
                        break;
                    }
                    cur = Some((k, k + 1));
                }
                None => cur = Some((k, k + 1)),
            }
        }
        if let Some(c) = cur {
            if blocks.len() < MAX_SACK_BLOCKS {
                blocks.push(self.block(c));
            }
        }
        let kind = if blocks.is_empty() { 0 } else { header::SACK };
        let h = self.header(kind, self.seq);
        self.out.push_with(|d| {
            h.write(d);
            for (s, e) in blocks {
                d.extend_from_slice(&s.to_le_bytes());
                d.extend_from_slice(&e.to_le_bytes());
            }
        });
    }

    fn block(&self, (s, e): (u64, u64)) -> (u32, u32) {
        let base = self.ack64;
        (
            self.ack.wrapping_add((s - base) as u32),
            self.ack.wrapping_add((e - base) as u32),
        )
    }

    /// Feeds one datagram addressed to this stream.
    pub(super) fn on_data(&mut self, h: &Header, payload: &[u8]) {
        if seq_lt(h.seq, self.ack) {
            return; // duplicate: re-acked
        }
        let off = h.seq.wrapping_sub(self.ack) as u64;
        if off >= MAX_OOO {
            return;
        }
        if off == 0 && self.ooo.is_empty() {
            if !self.fits(payload.len()) {
                self.recv_dropped += 1;
                return; // past our window: dropped unacknowledged
            }
            // in-order fast path: straight into the read ring
            self.deliver(h.kind, payload);
            return;
        }
        let key = self.ack64 + off;
        if !self.ooo.contains_key(&key) {
            let cost = payload.len() + OOO_ENTRY_COST;
            let fits = if off == 0 {
                self.fits_hole(payload.len())
            } else {
                self.fits(cost)
            };
            if !fits {
                self.recv_dropped += 1;
                return;
            }
            self.ooo_bytes += cost;
            self.ooo.insert(key, (h.kind, payload.to_vec()));
        }
        while let Some((kind, data)) = self.ooo.remove(&self.ack64) {
            self.ooo_bytes -= data.len() + OOO_ENTRY_COST;
            self.deliver(kind, &data);
        }
    }

    /// Bytes a peer currently makes us hold: unread in-order bytes, what the application
    /// reported holding, and the out-of-order buffer with its per-packet charge.
    pub fn recv_held_bytes(&self) -> usize {
        self.rbuf.len() + self.recv_buffered + self.ooo_bytes
    }

    /// Whether `extra` more bytes stay within the advertised window plus [`window_slack`].
    /// Packets without payload (a bare END) always fit.
    fn fits(&self, extra: usize) -> bool {
        extra == 0 || self.recv_held_bytes() + extra <= self.recv_bound()
    }

    /// What a peer may make us hold: the advertised window plus [`window_slack`].
    fn recv_bound(&self) -> usize {
        self.rwnd_max as usize + window_slack(self.rwnd_max)
    }

    /// [`Stream::fits`] for the packet at `ack` while out-of-order packets wait behind it:
    /// [`HOLE_SLACK`] more, so the buffer behind it can always be delivered once the reader
    /// drained what it can read (out-of-order packets only ever fill up to the bound).
    fn fits_hole(&self, len: usize) -> bool {
        self.recv_held_bytes() + len <= self.recv_bound() + HOLE_SLACK
    }

    fn deliver(&mut self, kind: u8, data: &[u8]) {
        self.ack = self.ack.wrapping_add(1);
        self.ack64 += 1;
        if kind & header::DATA != 0 && !data.is_empty() {
            self.rbuf.append(data);
            self.readable = true;
        }
        if kind & header::END != 0 && !self.remote_ended {
            self.remote_ended = true;
            self.events.push_back(StreamEvent::End);
        }
    }
}
