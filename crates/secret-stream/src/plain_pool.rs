//! Buffers for large decrypted messages, reused once the application copied them out (the
//! addon copies every message into a JS Buffer and hands the `Vec` back with [`recycle`]).
//! A bulk receiver then decrypts each 64 KiB message into a buffer that is already allocated
//! and initialised: no allocation, no zero-fill, no page faults per message. Per thread (the
//! thread that recycles is the one that reads); a handful at most, each at most a 64 KiB
//! message.

use std::cell::RefCell;

/// Messages at least this long take a pooled buffer (smaller ones are cheap to allocate).
const MIN: usize = 4096;
/// Buffers above this capacity are not kept.
const MAX: usize = 64 * 1024 + 64;
/// Buffers kept per thread.
const KEEP: usize = 4;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` initialised bytes (their values are whatever a previous message left).
pub(crate) fn take(len: usize) -> Vec<u8> {
    if (MIN..=MAX).contains(&len) {
        if let Some(mut v) = FREE.with(|f| f.borrow_mut().pop()) {
            if v.len() >= len {
                v.truncate(len);
            } else {
                v.resize(len, 0);
            }
            return v;
        }
    }
    vec![0; len]
}

/// Gives a decrypted message's buffer back for the next one (the caller is done with it).
pub fn recycle(v: Vec<u8>) {
    if (MIN..=MAX).contains(&v.capacity()) {
        FREE.with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(v);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_is_taken_again_at_the_asked_length() {
        let v = take(60_000);
        assert_eq!(v.len(), 60_000);
        let p = v.as_ptr();
        recycle(v);
        let w = take(50_000);
        assert_eq!((w.len(), w.as_ptr()), (50_000, p));
        recycle(w);
        let x = take(65_000);
        assert_eq!(x.len(), 65_000, "grown past what it held");
        // small and huge ones are neither pooled nor taken from the pool
        recycle(vec![0; 100]);
        recycle(vec![0; 1 << 20]);
        assert_eq!(FREE.with(|f| f.borrow().len()), 0);
        assert_eq!(take(100).len(), 100);
    }
}
