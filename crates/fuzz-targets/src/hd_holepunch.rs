//! `holepunch` (PEER_HOLEPUNCH request values).

use hyperdht_core::messages::HolepunchMessage;

pub fn run(data: &[u8]) {
    crate::codec::exact::<HolepunchMessage>(data);
}
