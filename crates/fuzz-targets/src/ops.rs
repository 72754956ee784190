//! Operation streams for the state-machine targets. An input is a sequence of operations, each
//! an [`arbitrary`]-derived enum value (fixed-size fields only) optionally followed by payload
//! bytes the operation asks for with [`Ops::bytes`]. The layout is simple enough to write by
//! hand, which [`SeedWriter`] does for the seed corpora built from the golden vectors.

use arbitrary::{Arbitrary, Unstructured};

/// Reads operations and their payloads from a fuzz input.
pub struct Ops<'a> {
    u: Unstructured<'a>,
    /// operations left before the stream is cut (bounds the work per input)
    budget: usize,
}

impl<'a> Ops<'a> {
    pub fn new(data: &'a [u8], max_ops: usize) -> Self {
        Ops {
            u: Unstructured::new(data),
            budget: max_ops,
        }
    }

    /// The next operation, or `None` when the input (or the budget) is used up.
    pub fn op<T: Arbitrary<'a>>(&mut self) -> Option<T> {
        if self.u.is_empty() || self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        T::arbitrary(&mut self.u).ok()
    }

    /// Up to `n` payload bytes (fewer if the input ends).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }

    /// A value read from the input (for fields decided after the operation was read).
    pub fn value<T: Arbitrary<'a> + Default>(&mut self) -> T {
        T::arbitrary(&mut self.u).unwrap_or_default()
    }
}

/// Writes inputs in the layout [`Ops`] reads (derived enums: a `u32` variant selector, then the
/// fields in declaration order, little-endian; `bool` is one byte).
#[derive(Default)]
pub struct SeedWriter {
    out: Vec<u8>,
}

impl SeedWriter {
    pub fn new() -> Self {
        Self::default()
    }
    /// Selects variant `index` of an enum with `count` variants (`arbitrary`'s derive picks
    /// `(u32 * count) >> 32`).
    pub fn variant(&mut self, index: u32, count: u32) -> &mut Self {
        let v = (u64::from(index) << 32).div_ceil(u64::from(count));
        self.u32(v as u32)
    }
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.u8(u8::from(b))
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Arbitrary, Debug, PartialEq)]
    enum E {
        A,
        B { x: u16, y: bool },
        C(u8),
    }

    #[test]
    fn seed_writer_matches_the_derive_layout() {
        let mut w = SeedWriter::new();
        w.variant(1, 3).u16(0x1234).bool(true);
        w.variant(2, 3).u8(7);
        w.variant(0, 3);
        w.raw(b"xyz");
        let data = w.finish();
        let mut ops = Ops::new(&data, 10);
        assert_eq!(ops.op::<E>(), Some(E::B { x: 0x1234, y: true }));
        assert_eq!(ops.op::<E>(), Some(E::C(7)));
        assert_eq!(ops.op::<E>(), Some(E::A));
        assert_eq!(ops.bytes(10), b"xyz");
        assert_eq!(ops.op::<E>(), None);
    }
}
