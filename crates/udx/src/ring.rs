//! Byte-ring helpers over `VecDeque<u8>` (the send buffer keeps every unacknowledged byte, like
//! libudx's write queue keeps the `udx_stream_write_t` buffers alive until acked).

use std::collections::VecDeque;

/// Appends `q[start..start + len]` to `out` (clamped to what `q` holds).
pub fn copy_range(q: &VecDeque<u8>, start: usize, len: usize, out: &mut Vec<u8>) {
    let (a, b) = q.as_slices();
    let end = start.saturating_add(len).min(q.len());
    if start >= end {
        return;
    }
    if start < a.len() {
        let a_end = end.min(a.len());
        out.extend_from_slice(&a[start..a_end]);
        if end > a.len() {
            out.extend_from_slice(&b[..end - a.len()]);
        }
    } else {
        out.extend_from_slice(&b[start - a.len()..end - a.len()]);
    }
}

/// Capacity is added in steps of this much, not doubled: a ring that once held 4.1 MiB would
/// otherwise keep 8 MiB, every page of it touched as the ring wraps (a bulk transfer's send and
/// receive buffers made a process's peak RSS 16 MiB larger than the bytes they held).
const GROW_STEP: usize = 256 * 1024;
/// The smallest growth: a connection that only ever carries small messages keeps a small ring
/// (every stream has two; 4 KiB each was a quarter of an idle connection's native memory).
const MIN_GROW: usize = 512;
/// A ring drained below a quarter of a capacity larger than this gives the rest back.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Appends `data`, growing the capacity by at least [`GROW_STEP`] when it is short (amortised:
/// a ring grown to `n` bytes copied at most `n²/(2·GROW_STEP)` bytes on the way, 32 MiB for 4 MiB).
pub fn append(q: &mut VecDeque<u8>, data: &[u8]) {
    let free = q.capacity() - q.len();
    if free < data.len() {
        q.reserve_exact(data.len().max(GROW_STEP.min(q.len().max(MIN_GROW))));
    }
    q.extend(data);
}

/// An empty ring keeps at most this much capacity once its stream is idle or closed (a burst
/// would otherwise stay allocated for the connection's lifetime, or a closed stream's linger).
pub const IDLE_KEEP: usize = 16 * 1024;

/// Gives back the capacity of an empty ring above [`IDLE_KEEP`] (for a stream gone idle).
pub fn trim_idle(q: &mut VecDeque<u8>) {
    if q.is_empty() && q.capacity() > IDLE_KEEP {
        *q = VecDeque::new();
    }
}

/// Drops the first `n` bytes; a large ring left mostly empty shrinks.
pub fn drop_front(q: &mut VecDeque<u8>, n: usize) {
    let n = n.min(q.len());
    if n == q.len() {
        q.clear();
    } else {
        q.drain(..n);
    }
    if q.capacity() > SHRINK_ABOVE && q.len() < q.capacity() / 4 {
        q.shrink_to(q.len() + GROW_STEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_across_the_wrap() {
        let mut q: VecDeque<u8> = VecDeque::with_capacity(8);
        q.extend([0, 0, 0, 0, 0, 0]);
        drop_front(&mut q, 5);
        q.extend([1, 2, 3, 4, 5]);
        // q = [0, 1, 2, 3, 4, 5], likely wrapped
        for s in 0..6 {
            for l in 0..8 {
                let mut out = Vec::new();
                copy_range(&q, s, l, &mut out);
                let want: Vec<u8> = q.iter().copied().skip(s).take(l).collect();
                assert_eq!(out, want, "{s} {l}");
            }
        }
        drop_front(&mut q, 100);
        assert!(q.is_empty());
    }

    #[test]
    fn grows_in_steps_and_gives_back_when_drained() {
        let mut q: VecDeque<u8> = VecDeque::new();
        let chunk = vec![7u8; 1180];
        // 4.1 MiB in packet-sized appends: capacity stays within a step of the bytes held
        while q.len() < 4_300_000 {
            append(&mut q, &chunk);
        }
        assert!(
            q.capacity() <= q.len() + GROW_STEP,
            "{} for {}",
            q.capacity(),
            q.len()
        );
        // the content is intact
        assert!(q.iter().all(|&b| b == 7));
        // drained to a little: the memory goes back
        let n = q.len() - 10_000;
        drop_front(&mut q, n);
        assert!(q.capacity() <= 10_000 + 2 * GROW_STEP, "{}", q.capacity());
        assert_eq!(q.len(), 10_000);
        drop_front(&mut q, 10_000);
        assert!(q.is_empty());
    }

    #[test]
    fn small_messages_keep_a_small_ring() {
        let mut q = VecDeque::new();
        for i in 0..1000usize {
            append(&mut q, &[i as u8; 100]);
            if i % 3 == 2 {
                let n = q.len();
                drop_front(&mut q, n);
            }
        }
        assert!(q.capacity() <= 1024, "capacity {}", q.capacity());
        trim_idle(&mut q);
        append(&mut q, &[0; 20_000]);
        let n = q.len();
        drop_front(&mut q, n);
        trim_idle(&mut q);
        assert_eq!(q.capacity(), 0, "an idle ring above IDLE_KEEP is freed");
    }
}
