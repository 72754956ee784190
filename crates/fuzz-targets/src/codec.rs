//! Shared round-trip check for compact-encoding messages.

use std::fmt::Debug;

use hyperdht_encoding::Codec;

/// Decodes `data` as `T`; on success re-encodes it and checks that the encoding decodes back
/// to `normalize(value)` and is canonical (encoding the re-decoded value gives the same bytes).
/// `normalize` maps a decoded value to what its encoding carries (fields the encoder writes as
/// constants, like the version numbers of `noisePayload`); identity for exact formats.
/// Returns the decoded value.
pub fn roundtrip<T: Codec + PartialEq + Debug>(
    data: &[u8],
    normalize: impl Fn(T) -> T,
) -> Option<T> {
    let v = T::from_bytes(data).ok()?;
    let bytes = v.to_bytes();
    let back = match T::from_bytes(&bytes) {
        Ok(b) => b,
        Err(e) => panic!("re-encoding of {v:?} does not decode: {e:?} ({bytes:02x?})"),
    };
    let again = back.to_bytes();
    assert_eq!(bytes, again, "encoding is not canonical for {back:?}");
    let expected = normalize(T::from_bytes(data).ok()?);
    assert_eq!(back, expected, "decode(encode(v)) != v");
    Some(v)
}

/// [`roundtrip`] for formats that must round-trip exactly.
pub fn exact<T: Codec + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    roundtrip(data, |v| v)
}
