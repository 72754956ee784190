//! Receiving: in-order delivery into the read ring, the out-of-order buffer
//! (`libudx src/udx.c: process_data_packet`) and the ACK/SACK packet (`send_ack`).

use super::{Stream, StreamEvent, MAX_OOO, MAX_SACK_BLOCKS};
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
            // in-order fast path: straight into the read ring
            self.deliver(h.kind, payload);
            return;
        }
        let key = self.ack64 + off;
        self.ooo
            .entry(key)
            .or_insert_with(|| (h.kind, payload.to_vec()));
        while let Some((kind, data)) = self.ooo.remove(&self.ack64) {
            self.deliver(kind, &data);
        }
    }

    fn deliver(&mut self, kind: u8, data: &[u8]) {
        self.ack = self.ack.wrapping_add(1);
        self.ack64 += 1;
        if kind & header::DATA != 0 && !data.is_empty() {
            self.rbuf.extend(data);
            self.readable = true;
        }
        if kind & header::END != 0 && !self.remote_ended {
            self.remote_ended = true;
            self.events.push_back(StreamEvent::End);
        }
    }
}
