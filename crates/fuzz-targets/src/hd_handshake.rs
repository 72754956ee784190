//! `handshake` (PEER_HANDSHAKE request values; the mode is kept raw).

use hyperdht_core::messages::HandshakeMessage;

pub fn run(data: &[u8]) {
    crate::codec::exact::<HandshakeMessage>(data);
}
