//! compact-encoding primitives used on the HyperDHT wire.
//!
//! Mirrors `compact-encoding` 3.5.2 (`index.js`) as used by dht-rpc and hyperdht: little-endian
//! integers, the variable-length `uint` (lenient on decode: non-canonical forms accepted, values
//! above 2^53 − 1 rejected), length-prefixed buffers, IPv4/IPv6 addresses with a little-endian port.
//! Decoding never panics and never requires the whole input to be consumed (trailing bytes are
//! ignored, exactly like the JS decoders).
#![forbid(unsafe_code)]

mod reader;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

/// Largest integer JS can represent exactly (`Number.MAX_SAFE_INTEGER`); `uint` never exceeds it.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Element count above which `array` decoding fails before reading elements (`Array is too big`).
pub const MAX_ARRAY_LEN: u64 = 0x100000;

/// Why a decode failed. JS throws and the DHT layer drops the message; we return this instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Input ended before the field did (JS: `Out of bounds`).
    OutOfBounds,
    /// A `uint` above 2^53 − 1 (JS: `validateSafeUint`).
    UnsafeInteger,
    /// An array count above [`MAX_ARRAY_LEN`] (JS: `Array is too big`).
    ArrayTooBig,
    /// A message-level rule was broken (used by higher-level codecs).
    Invalid(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::OutOfBounds => f.write_str("Out of bounds"),
            DecodeError::UnsafeInteger => f.write_str("uint must be a safe integer"),
            DecodeError::ArrayTooBig => f.write_str("Array is too big"),
            DecodeError::Invalid(m) => write!(f, "invalid message: {m}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A value with a compact-encoding representation.
pub trait Codec: Sized {
    fn encode(&self, w: &mut Writer);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Encodes into a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_vec()
    }

    /// Decodes from the start of `bytes`, ignoring trailing bytes like `c.decode` in JS.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode(&mut Reader::new(bytes))
    }
}

impl Codec for std::net::SocketAddrV4 {
    fn encode(&self, w: &mut Writer) {
        w.ipv4_address(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.ipv4_address()
    }
}

impl Codec for [u8; 32] {
    fn encode(&self, w: &mut Writer) {
        w.fixed32(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.fixed32()
    }
}

impl Codec for [u8; 64] {
    fn encode(&self, w: &mut Writer) {
        w.fixed64(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.fixed64()
    }
}
