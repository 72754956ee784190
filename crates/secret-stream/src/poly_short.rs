//! Poly1305 (RFC 8439) for short inputs, 44/44/42-bit limbs with 128-bit products (the
//! "poly1305-donna-64" layout libsodium uses on 64-bit targets).
//!
//! RustCrypto's `poly1305` picks its AVX2 backend at run time, which precomputes r², r³, r⁴
//! for every key: a one-time key per message (secretstream) pays that set-up on every frame.
//! For a 32-byte message it made the MACs 23% of the CPU of an echo round trip (perf, issue
//! 16); this serial form costs a few multiplies per 16-byte block. Long messages keep the
//! AVX2 backend (see `secretstream::State::mac`): RustCrypto's costs ~1.3 µs per key before the
//! first byte (this machine, 2026-12-06), so this one wins up to ~3 KiB (1 KiB: 0.56 vs 1.48 µs,
//! 2 KiB: 1.29 vs 1.79 µs, 4 KiB: 2.59 vs 2.18 µs).

const MASK44: u64 = 0xfff_ffff_ffff;
const MASK42: u64 = 0x3ff_ffff_ffff;

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// The Poly1305 tag of `m` under the one-time `key`.
#[cfg(test)]
pub(crate) fn poly1305(key: &[u8; 32], m: &[u8]) -> [u8; 16] {
    let mut p = Poly::new(key);
    p.update(m);
    p.finalize()
}

/// An incremental Poly1305: [`Poly::update`] takes the input in any pieces (a partial 16-byte
/// block is kept for the next one), [`Poly::finalize`] pads the last block.
pub(crate) struct Poly {
    r: [u64; 3],
    s1: u64,
    s2: u64,
    h: [u64; 3],
    /// the key's second half, added at the end
    pad: [u8; 16],
    buf: [u8; 16],
    buffered: usize,
}

impl Poly {
    pub(crate) fn new(key: &[u8; 32]) -> Poly {
        let t0 = le64(&key[0..]);
        let t1 = le64(&key[8..]);
        // clamp r
        let r0 = t0 & 0xffc_0fff_ffff;
        let r1 = ((t0 >> 44) | (t1 << 20)) & 0xfff_ffc0_ffff;
        let r2 = (t1 >> 24) & 0x00f_ffff_fc0f;
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&key[16..]);
        Poly {
            r: [r0, r1, r2],
            s1: r1 * (5 << 2),
            s2: r2 * (5 << 2),
            h: [0; 3],
            pad,
            buf: [0; 16],
            buffered: 0,
        }
    }

    pub(crate) fn update(&mut self, mut m: &[u8]) {
        if self.buffered > 0 {
            let n = (16 - self.buffered).min(m.len());
            self.buf[self.buffered..self.buffered + n].copy_from_slice(&m[..n]);
            self.buffered += n;
            m = &m[n..];
            if self.buffered < 16 {
                return;
            }
            let b = self.buf;
            self.block(&b, 1 << 40);
            self.buffered = 0;
        }
        let mut chunks = m.chunks_exact(16);
        for c in &mut chunks {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            self.block(&b, 1 << 40);
        }
        let rest = chunks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    fn block(&mut self, blk: &[u8; 16], hibit: u64) {
        let [r0, r1, r2] = self.r;
        let (s1, s2) = (self.s1, self.s2);
        let [mut h0, mut h1, mut h2] = self.h;
        let t0 = le64(&blk[0..]);
        let t1 = le64(&blk[8..]);
        h0 += t0 & MASK44;
        h1 += ((t0 >> 44) | (t1 << 20)) & MASK44;
        h2 += ((t1 >> 24) & MASK42) | hibit;
        let m = |a: u64, b: u64| u128::from(a) * u128::from(b);
        let d0 = m(h0, r0) + m(h1, s2) + m(h2, s1);
        let mut d1 = m(h0, r1) + m(h1, r0) + m(h2, s2);
        let mut d2 = m(h0, r2) + m(h1, r1) + m(h2, r0);
        let mut c = (d0 >> 44) as u64;
        h0 = (d0 as u64) & MASK44;
        d1 += u128::from(c);
        c = (d1 >> 44) as u64;
        h1 = (d1 as u64) & MASK44;
        d2 += u128::from(c);
        c = (d2 >> 42) as u64;
        h2 = (d2 as u64) & MASK42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= MASK44;
        h1 += c;
        self.h = [h0, h1, h2];
    }

    pub(crate) fn finalize(mut self) -> [u8; 16] {
        if self.buffered > 0 {
            let mut b = [0u8; 16];
            b[..self.buffered].copy_from_slice(&self.buf[..self.buffered]);
            b[self.buffered] = 1;
            self.block(&b, 0);
        }
        let [mut h0, mut h1, mut h2] = self.h;

        // fully carry h (two passes, as poly1305-donna)
        carry(&mut h0, &mut h1, &mut h2);
        carry(&mut h0, &mut h1, &mut h2);
        let mut c: u64;

        // g = h + -p; take g if h >= p (constant time)
        let mut g0 = h0.wrapping_add(5);
        c = g0 >> 44;
        g0 &= MASK44;
        let mut g1 = h1.wrapping_add(c);
        c = g1 >> 44;
        g1 &= MASK44;
        let mut g2 = h2.wrapping_add(c).wrapping_sub(1 << 42);
        let select = (g2 >> 63).wrapping_sub(1);
        g0 &= select;
        g1 &= select;
        g2 &= select;
        let keep = !select;
        h0 = (h0 & keep) | g0;
        h1 = (h1 & keep) | g1;
        h2 = (h2 & keep) | g2;

        // h += s (the key's second half)
        let p0 = le64(&self.pad[0..]);
        let p1 = le64(&self.pad[8..]);
        h0 += p0 & MASK44;
        c = h0 >> 44;
        h0 &= MASK44;
        h1 += (((p0 >> 44) | (p1 << 20)) & MASK44) + c;
        c = h1 >> 44;
        h1 &= MASK44;
        h2 += ((p1 >> 24) & MASK42) + c;
        h2 &= MASK42;

        let lo = h0 | (h1 << 44);
        let hi = (h1 >> 20) | (h2 << 24);
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&lo.to_le_bytes());
        out[8..].copy_from_slice(&hi.to_le_bytes());
        out
    }
}

/// One carry pass over the 44/44/42-bit limbs of `h`.
fn carry(h0: &mut u64, h1: &mut u64, h2: &mut u64) {
    let mut c = *h1 >> 44;
    *h1 &= MASK44;
    *h2 += c;
    c = *h2 >> 42;
    *h2 &= MASK42;
    *h0 += c * 5;
    c = *h0 >> 44;
    *h0 &= MASK44;
    *h1 += c;
}

#[cfg(test)]
mod tests {
    use super::poly1305;
    use poly1305::universal_hash::KeyInit;

    #[test]
    fn rfc8439_vector() {
        // RFC 8439 §2.5.2
        let key: [u8; 32] = [
            0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5,
            0x06, 0xa8, 0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf,
            0x41, 0x49, 0xf5, 0x1b,
        ];
        let tag = poly1305(&key, b"Cryptographic Forum Research Group");
        assert_eq!(
            tag,
            [
                0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6, 0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01,
                0x27, 0xa9
            ]
        );
    }

    /// Same tags as RustCrypto's implementation for every length 0..=600 under keys with
    /// extreme and pseudo-random bytes (limb carries, the final reduction).
    #[test]
    fn matches_rustcrypto() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        };
        for round in 0..6 {
            let mut key = [0u8; 32];
            let mut msg = vec![0u8; 600];
            for b in key.iter_mut() {
                *b = match round {
                    0 => 0xff,
                    1 => 0,
                    _ => next(),
                };
            }
            for b in msg.iter_mut() {
                *b = if round < 2 { 0xff } else { next() };
            }
            for len in (0..=600).chain([1023, 1024, 1025, 2047, 3071, 3072, 4099]) {
                if msg.len() < len {
                    msg.resize(len, 0x5a);
                }
                let want: [u8; 16] = poly1305::Poly1305::new(&key.into())
                    .compute_unpadded(&msg[..len])
                    .into();
                assert_eq!(poly1305(&key, &msg[..len]), want, "round {round} len {len}");
                // the same input in pieces of every size 1..40
                let step = 1 + len % 40;
                let mut p = super::Poly::new(&key);
                for piece in msg[..len].chunks(step) {
                    p.update(piece);
                }
                assert_eq!(
                    p.finalize(),
                    want,
                    "round {round} len {len} in {step}-byte pieces"
                );
            }
        }
    }
}
