//! Decoding cursor (compact-encoding `decode` with a `{start, end, buffer}` state).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use crate::{Codec, DecodeError, MAX_ARRAY_LEN, MAX_SAFE_INTEGER};

/// A cursor over untrusted bytes. Every read is bounds-checked and returns `OutOfBounds`
/// instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Everything not yet read (does not advance).
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Consumes and returns everything not yet read (`raw` codec).
    pub fn raw_rest(&mut self) -> &'a [u8] {
        let r = self.rest();
        self.pos = self.buf.len();
        r
    }

    /// The next `n` bytes.
    pub fn fixed(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::OutOfBounds)?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::OutOfBounds)?;
        self.pos = end;
        Ok(s)
    }

    fn array_n<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.fixed(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn uint8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array_n::<1>()?[0])
    }

    pub fn uint16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array_n()?))
    }

    pub fn uint24(&mut self) -> Result<u32, DecodeError> {
        let b = self.array_n::<3>()?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    pub fn uint32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array_n()?))
    }

    /// uint64 with JS's safe-integer ceiling.
    pub fn uint64(&mut self) -> Result<u64, DecodeError> {
        let v = u64::from_le_bytes(self.array_n()?);
        if v > MAX_SAFE_INTEGER {
            return Err(DecodeError::UnsafeInteger);
        }
        Ok(v)
    }

    /// The variable-length `uint`; non-canonical encodings are accepted like in JS.
    pub fn uint(&mut self) -> Result<u64, DecodeError> {
        match self.uint8()? {
            a @ 0..=0xfc => Ok(a as u64),
            0xfd => Ok(self.uint16()? as u64),
            0xfe => Ok(self.uint32()? as u64),
            _ => self.uint64(),
        }
    }

    /// A `uint` that must fit a `usize` length (anything larger cannot be in bounds anyway).
    fn len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.uint()?).map_err(|_| DecodeError::OutOfBounds)
    }

    pub fn fixed32(&mut self) -> Result<[u8; 32], DecodeError> {
        self.array_n()
    }

    pub fn fixed64(&mut self) -> Result<[u8; 64], DecodeError> {
        self.array_n()
    }

    /// A length-prefixed buffer. Empty decodes as `Some(&[])` (the `buffer` codec keeps an empty
    /// buffer non-null); `optional_buffer` is the variant where empty means absent.
    pub fn buffer(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len()?;
        self.fixed(n)
    }

    /// compact-encoding `optionalBuffer`-style read: zero length decodes to `None`.
    pub fn optional_buffer(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let b = self.buffer()?;
        Ok(if b.is_empty() { None } else { Some(b) })
    }

    /// UTF-8 string; invalid sequences are replaced (JS decodes lossily, never throws).
    pub fn string(&mut self) -> Result<String, DecodeError> {
        Ok(String::from_utf8_lossy(self.buffer()?).into_owned())
    }

    /// True only for exactly `01`.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.uint8()? == 1)
    }

    pub fn ipv4(&mut self) -> Result<Ipv4Addr, DecodeError> {
        Ok(Ipv4Addr::from(self.array_n::<4>()?))
    }

    /// 4 address bytes in network order, then the port as uint16 LE.
    pub fn ipv4_address(&mut self) -> Result<SocketAddrV4, DecodeError> {
        let ip = self.ipv4()?;
        let port = self.uint16()?;
        Ok(SocketAddrV4::new(ip, port))
    }

    pub fn ipv6(&mut self) -> Result<Ipv6Addr, DecodeError> {
        Ok(Ipv6Addr::from(self.array_n::<16>()?))
    }

    pub fn ipv6_address(&mut self) -> Result<SocketAddrV6, DecodeError> {
        let ip = self.ipv6()?;
        let port = self.uint16()?;
        Ok(SocketAddrV6::new(ip, port, 0, 0))
    }

    /// Reads the element count of an array, enforcing JS's `Array is too big` limit.
    pub fn array_len(&mut self) -> Result<usize, DecodeError> {
        let n = self.uint()?;
        if n > MAX_ARRAY_LEN {
            return Err(DecodeError::ArrayTooBig);
        }
        Ok(n as usize)
    }

    /// `array(codec)`: count then elements back to back. Preallocation is bounded by the input.
    pub fn array<T: Codec>(&mut self) -> Result<Vec<T>, DecodeError> {
        let n = self.array_len()?;
        let mut out = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            out.push(T::decode(self)?);
        }
        Ok(out)
    }

    /// `array(ipv4Address)`.
    pub fn ipv4_array(&mut self) -> Result<Vec<SocketAddrV4>, DecodeError> {
        self.array()
    }
}
