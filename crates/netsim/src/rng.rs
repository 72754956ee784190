//! The simulator's only source of randomness: SplitMix64 (Steele, Lea & Flood, "Fast splittable
//! pseudorandom number generators", 2014). Small, fast, and fully determined by its seed, so a
//! run is reproduced exactly by its seed.

use std::time::Duration;

/// A seeded 64-bit PRNG (SplitMix64). Not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A number in `0..n` (`n` > 0). Uses the high half of a 128-bit product (Lemire), whose
    /// bias (at most n / 2^64) is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range_u16(&mut self, lo: u16, hi: u16) -> u16 {
        assert!(lo <= hi, "Rng::range_u16: empty range {lo}..={hi}");
        lo + self.below(hi as u64 - lo as u64 + 1) as u16
    }

    /// A float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to `[0, 1]`); draws nothing when `p` is 0 or 1, so
    /// adding a lossless link does not shift the rest of the random stream.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// A duration uniformly in `[0, max]` (nanosecond grain); draws nothing when `max` is zero.
    pub fn duration_upto(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let n = max.as_nanos().min(u64::MAX as u128 - 1) as u64;
        Duration::from_nanos(self.below(n + 1))
    }
}

/// SplitMix64's output function, also used to derive independent sub-seeds.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for the `index`-th consumer of `seed` (an endpoint's own PRNG, say) that does not
/// depend on how much of the network's stream has been used.
pub fn sub_seed(seed: u64, index: u64) -> u64 {
    mix(seed ^ mix(index.wrapping_add(1).wrapping_mul(GOLDEN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_ranges_hold() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let p = r.range_u16(1024, 65535);
            assert!(p >= 1024);
            assert!(r.below(3) < 3);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.duration_upto(Duration::from_millis(5)) <= Duration::from_millis(5));
        }
        assert_ne!(sub_seed(1, 0), sub_seed(1, 1));
        assert_ne!(sub_seed(1, 0), sub_seed(2, 0));
    }

    #[test]
    fn chance_is_roughly_right() {
        let mut r = Rng::new(42);
        let hits = (0..100_000).filter(|_| r.chance(0.2)).count();
        assert!((19_000..21_000).contains(&hits), "{hits}");
    }
}
