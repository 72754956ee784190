//! `announce` (ANNOUNCE / UNANNOUNCE request values).

use hyperdht_core::messages::Announce;

pub fn run(data: &[u8]) {
    crate::codec::exact::<Announce>(data);
}
