//! Outgoing datagrams of one stream, back to back in one buffer so the driver can hand runs of
//! equal-sized datagrams to the kernel in one `sendmsg` with UDP GSO (libudx instead keeps a
//! `uv_udp_send` per packet, `src/udx.c: udx__shift_packet`/`send_packet`; batching is our
//! replacement for its per-tick coalescing). No allocation per datagram: the buffer is reused.

/// Largest UDP payload one GSO `sendmsg` may carry (the IP packet is capped at 64 KiB).
pub const GSO_MAX_BYTES: usize = 65_000;

#[derive(Debug, Default)]
pub struct TxQueue {
    buf: Vec<u8>,
    lens: Vec<u16>,
    /// datagrams already handed out by [`TxQueue::pop_front`]
    head: usize,
    head_off: usize,
}

impl TxQueue {
    pub fn is_empty(&self) -> bool {
        self.head == self.lens.len()
    }

    /// Bytes allocated for queued datagrams.
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.lens.capacity() * 2
    }

    /// Bytes of the queued datagrams.
    pub fn bytes(&self) -> usize {
        self.buf.len() - self.head_off
    }

    pub fn len(&self) -> usize {
        self.lens.len() - self.head
    }

    /// Appends one datagram written by `f` into the shared buffer.
    pub fn push_with(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        f(&mut self.buf);
        let n = (self.buf.len() - start).min(u16::MAX as usize);
        self.buf.truncate(start + n);
        self.lens.push(n as u16);
    }

    /// Removes the oldest datagram (one allocation; the batched path is [`TxQueue::drain_runs`]).
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let n = *self.lens.get(self.head)? as usize;
        let d = self.buf[self.head_off..self.head_off + n].to_vec();
        self.head += 1;
        self.head_off += n;
        if self.is_empty() {
            self.clear();
        }
        Some(d)
    }

    /// Gives back the buffer's capacity above `keep` bytes when nothing is queued (the largest
    /// burst a stream ever sent would otherwise stay allocated while it is idle or lingering).
    pub fn trim(&mut self, keep: usize) {
        if self.is_empty() && self.buf.capacity() > keep {
            *self = TxQueue::default();
        }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.lens.clear();
        self.head = 0;
        self.head_off = 0;
    }

    /// Hands every queued datagram to `send` as GSO runs — `(bytes, segment_size)` where every
    /// datagram is `segment_size` long except possibly the last, at most `max_segments`
    /// datagrams and [`GSO_MAX_BYTES`] per run — then empties the queue.
    pub fn drain_runs(&mut self, max_segments: usize, mut send: impl FnMut(&[u8], usize)) {
        let max_segments = max_segments.max(1);
        let lens = &self.lens[self.head..];
        let mut off = self.head_off;
        let mut i = 0;
        while i < lens.len() {
            let seg = lens[i] as usize;
            let start = off;
            let mut count = 0;
            let mut bytes = 0;
            while i < lens.len() && count < max_segments {
                let l = lens[i] as usize;
                if l > seg || bytes + l > GSO_MAX_BYTES.max(seg) {
                    break;
                }
                bytes += l;
                count += 1;
                i += 1;
                if l < seg {
                    break; // a shorter datagram ends the run
                }
            }
            off += bytes;
            send(&self.buf[start..off], seg);
        }
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(q: &mut TxQueue, max: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        q.drain_runs(max, |b, s| v.push((b.len(), s)));
        v
    }

    #[test]
    fn runs_split_on_size_changes_and_limits() {
        let mut q = TxQueue::default();
        for l in [100, 100, 100, 40, 100, 20, 20, 120] {
            q.push_with(|b| b.resize(b.len() + l, 7));
        }
        assert_eq!(
            collect(&mut q, 64),
            vec![(340, 100), (120, 100), (20, 20), (120, 120)]
        );
        assert!(q.is_empty());
        for _ in 0..5 {
            q.push_with(|b| b.resize(b.len() + 10, 1));
        }
        assert_eq!(collect(&mut q, 2), vec![(20, 10), (20, 10), (10, 10)]);
        for _ in 0..100 {
            q.push_with(|b| b.resize(b.len() + 1200, 1));
        }
        let runs = collect(&mut q, 1000);
        assert!(runs.iter().all(|(b, _)| *b <= GSO_MAX_BYTES));
        assert_eq!(runs.iter().map(|r| r.0).sum::<usize>(), 120_000);
    }

    #[test]
    fn pop_front_then_runs() {
        let mut q = TxQueue::default();
        q.push_with(|b| b.extend_from_slice(b"abc"));
        q.push_with(|b| b.extend_from_slice(b"de"));
        q.push_with(|b| b.extend_from_slice(b"fg"));
        assert_eq!(q.pop_front().unwrap(), b"abc");
        let mut got = Vec::new();
        q.drain_runs(8, |b, s| got.push((b.to_vec(), s)));
        assert_eq!(got, vec![(b"defg".to_vec(), 2)]);
        assert_eq!(q.pop_front(), None);
    }
}
