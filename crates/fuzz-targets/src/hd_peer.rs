//! `peer` records (`hyperdht lib/messages.js: peer`): FIND_PEER values, lookup records.

use hyperdht_core::messages::Peer;

pub fn run(data: &[u8]) {
    crate::codec::exact::<Peer>(data);
}
