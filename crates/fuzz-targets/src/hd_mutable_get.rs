//! `mutableGetResponse` (MUTABLE_GET reply values, and the stored form of mutable records).
//! Also checks that `mutableSignable` is the prefix of the stored form it signs.

use hyperdht_core::messages::{mutable_signable, MutableGetResponse};
use hyperdht_encoding::Codec;

pub fn run(data: &[u8]) {
    let Some(v) = crate::codec::exact::<MutableGetResponse>(data) else {
        return;
    };
    let signable = mutable_signable(v.seq, &v.value);
    assert!(v.to_bytes().starts_with(&signable));
}
