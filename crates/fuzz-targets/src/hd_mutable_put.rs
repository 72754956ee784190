//! `mutablePutRequest` (MUTABLE_PUT request values).

use hyperdht_core::messages::MutablePutRequest;

pub fn run(data: &[u8]) {
    crate::codec::exact::<MutablePutRequest>(data);
}
