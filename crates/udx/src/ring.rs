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

/// Drops the first `n` bytes.
pub fn drop_front(q: &mut VecDeque<u8>, n: usize) {
    let n = n.min(q.len());
    if n == q.len() {
        q.clear();
    } else {
        q.drain(..n);
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
}
