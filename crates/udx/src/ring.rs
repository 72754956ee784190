//! [`ByteRing`]: a stream's send or receive bytes (the send buffer keeps every unacknowledged
//! byte, like libudx's write queue keeps the `udx_stream_write_t` buffers alive until acked).
//!
//! The bytes live in chunks of [`CHUNK`] bytes, so the ring never moves what it holds: growing
//! a contiguous ring copied its whole content at every step (a 256 MiB transfer spent a sixth
//! of its memory copying there), and a ring that once held 4 MiB kept them or was shrunk by
//! another copy. Here a chunk the front leaves goes back (one spare is kept for the next
//! append), so capacity follows content within two chunks. A ring that only ever holds small
//! messages stays one small chunk, grown in place up to a whole one.

use std::collections::VecDeque;

/// Bytes per chunk (only a ring's first chunk may be smaller).
pub const CHUNK: usize = 64 * 1024;
/// The smallest first chunk: a connection that only carries small messages keeps a small ring
/// (every stream has two).
const MIN_CHUNK: usize = 512;
/// An empty ring keeps at most this much capacity once its stream is idle or closed (a burst
/// would otherwise stay allocated for the connection's lifetime, or a closed stream's linger).
pub const IDLE_KEEP: usize = 16 * 1024;

#[derive(Default)]
pub struct ByteRing {
    /// Every chunk but the last is full; all have [`CHUNK`] capacity unless the ring is one
    /// smaller chunk. So the byte at `head + i` is in chunk `(head + i) / CHUNK`.
    chunks: VecDeque<Vec<u8>>,
    /// bytes of `chunks[0]` already dropped
    head: usize,
    len: usize,
    /// an emptied whole chunk kept for the next append
    spare: Option<Vec<u8>>,
}

impl ByteRing {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated (chunks and the spare).
    pub fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.spare.as_ref().map_or(0, Vec::capacity)
    }

    /// Appends `data`.
    pub fn append(&mut self, mut data: &[u8]) {
        self.len += data.len();
        while !data.is_empty() {
            let room = self.chunks.back().map_or(0, |c| fill_limit(c) - c.len());
            if room == 0 {
                self.add_room(data.len());
                continue;
            }
            let n = room.min(data.len());
            let last = self.chunks.back_mut().expect("a chunk with room");
            last.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
    }

    /// Makes room for (part of) `want` more bytes: grows a lone small chunk, or adds a chunk.
    fn add_room(&mut self, want: usize) {
        if self.chunks.len() == 1 && fill_limit(&self.chunks[0]) < CHUNK {
            let c = &mut self.chunks[0];
            // the live bytes move to the chunk's start: a small chunk starts at 0 again
            c.drain(..self.head);
            self.head = 0;
            let cap = (c.len() + want).next_power_of_two().clamp(MIN_CHUNK, CHUNK);
            c.reserve_exact(cap - c.len());
            return;
        }
        if self.chunks.is_empty() {
            self.head = 0;
            if want < CHUNK && self.spare.is_none() {
                let cap = want.next_power_of_two().clamp(MIN_CHUNK, CHUNK);
                self.chunks.push_back(Vec::with_capacity(cap));
                return;
            }
        }
        let c = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK));
        self.chunks.push_back(c);
    }

    /// Appends `self[start..start + len]` to `out` (clamped to what the ring holds).
    pub fn copy_range(&self, start: usize, len: usize, out: &mut Vec<u8>) {
        let end = start.saturating_add(len).min(self.len);
        let mut at = start;
        while at < end {
            let abs = self.head + at;
            let (i, off) = (abs / CHUNK, abs % CHUNK);
            let Some(c) = self.chunks.get(i) else { return };
            let n = (c.len() - off).min(end - at);
            out.extend_from_slice(&c[off..off + n]);
            at += n;
        }
    }

    /// Copies the oldest bytes into `out` (as many as fit); they stay until [`Self::drop_front`].
    pub fn peek_into(&self, out: &mut [u8]) -> usize {
        let mut done = 0;
        let mut off = self.head;
        for c in &self.chunks {
            if done == out.len() {
                break;
            }
            let n = (c.len() - off).min(out.len() - done);
            out[done..done + n].copy_from_slice(&c[off..off + n]);
            done += n;
            off = 0;
        }
        done
    }

    /// The oldest bytes as (up to) two slices.
    pub fn front_slices(&self) -> (&[u8], &[u8]) {
        let a = self.chunks.front().map_or(&[][..], |c| &c[self.head..]);
        let b = self.chunks.get(1).map_or(&[][..], |c| &c[..]);
        (a, b)
    }

    /// Drops the first `n` bytes; chunks left behind go (one is kept as the spare).
    pub fn drop_front(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let lone = self.chunks.len() == 1;
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let live = front.len() - self.head;
            if n < live {
                self.head += n;
                break;
            }
            n -= live;
            if lone {
                // a lone chunk stays for the next append
                front.clear();
                self.head = 0;
                break;
            }
            let mut c = self.chunks.pop_front().expect("front");
            self.head = 0;
            if fill_limit(&c) == CHUNK && self.spare.is_none() {
                c.clear();
                self.spare = Some(c);
            }
        }
    }

    /// Gives back the capacity of an empty ring above [`IDLE_KEEP`] (for a stream gone idle).
    pub fn trim_idle(&mut self) {
        if self.is_empty() && self.capacity() > IDLE_KEEP {
            *self = ByteRing::new();
        }
    }
}

/// How many bytes `c` takes: its capacity, at most a whole chunk (the allocator may give more
/// than was asked; the index arithmetic needs every chunk but a lone first one whole).
#[allow(clippy::ptr_arg)] // the capacity is the point
fn fill_limit(c: &Vec<u8>) -> usize {
    c.capacity().min(CHUNK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(r: &ByteRing, model: &VecDeque<u8>) {
        assert_eq!(r.len(), model.len());
        let mut all = Vec::new();
        r.copy_range(0, usize::MAX, &mut all);
        assert!(all.iter().eq(model.iter()));
        let mut peek = vec![0; model.len() + 3];
        let n = r.peek_into(&mut peek);
        assert_eq!(n, model.len());
        assert!(peek[..n].iter().eq(model.iter()));
    }

    /// Appends and drops of every size against a VecDeque, ranges copied at every offset.
    #[test]
    fn behaves_like_a_deque() {
        let mut r = ByteRing::new();
        let mut model = VecDeque::new();
        let mut x = 1u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..3000u32 {
            let v = next();
            if v % 3 != 0 {
                let n = [1usize, 100, 1180, 5000, 70_000, 200_000][(v >> 8) as usize % 6];
                let data: Vec<u8> = (0..n).map(|i| (i as u32 ^ step) as u8).collect();
                r.append(&data);
                model.extend(&data);
            } else {
                let n = (next() as usize) % (model.len() + 2);
                r.drop_front(n);
                model.drain(..n.min(model.len()));
            }
            if step % 97 == 0 {
                model_check(&r, &model);
                let start = (next() as usize) % (model.len() + 1);
                let len = (next() as usize) % 5000;
                let mut got = Vec::new();
                r.copy_range(start, len, &mut got);
                assert!(got.iter().eq(model.iter().skip(start).take(len)));
            }
            let (a, b) = r.front_slices();
            assert!(a.iter().chain(b).eq(model.iter().take(a.len() + b.len())));
            assert!(
                r.capacity() <= r.len() + 3 * CHUNK,
                "{} for {}",
                r.capacity(),
                r.len()
            );
        }
        model_check(&r, &model);
    }

    #[test]
    fn small_messages_keep_a_small_ring() {
        let mut r = ByteRing::new();
        for i in 0..1000usize {
            r.append(&[i as u8; 100]);
            if i % 3 == 2 {
                r.drop_front(r.len());
            }
        }
        assert!(r.capacity() <= 1024, "capacity {}", r.capacity());
        r.trim_idle();
        r.append(&[0; 20_000]);
        r.drop_front(r.len());
        r.trim_idle();
        assert_eq!(r.capacity(), 0, "an idle ring above IDLE_KEEP is freed");
    }

    /// A large ring drained gives its chunks back (one spare stays); nothing held moves.
    #[test]
    fn drained_chunks_go_back() {
        let mut r = ByteRing::new();
        let chunk = vec![7u8; 1180];
        while r.len() < 4_300_000 {
            r.append(&chunk);
        }
        assert!(r.capacity() <= r.len() + CHUNK);
        r.drop_front(r.len() - 10_000);
        assert!(r.capacity() <= 10_000 + 3 * CHUNK, "{}", r.capacity());
        assert_eq!(r.len(), 10_000);
        let mut out = Vec::new();
        r.copy_range(0, 10_000, &mut out);
        assert!(out.iter().all(|&b| b == 7));
        r.drop_front(10_000);
        assert!(r.is_empty());
        r.trim_idle();
        assert_eq!(r.capacity(), 0);
    }
}
