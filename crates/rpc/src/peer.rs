//! Node ids (`dht-rpc lib/peer.js`): `id = BLAKE2b-256(ipv4Address)`.

use std::net::SocketAddrV4;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use hyperdht_encoding::Writer;

/// The id a node at `addr` must carry (`peer.id(host, port)`).
pub fn id(addr: &SocketAddrV4) -> [u8; 32] {
    let mut w = Writer::with_capacity(6);
    w.ipv4_address(addr);
    Blake2b::<U32>::digest(w.as_slice()).into()
}

/// Public view of a routing-table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: [u8; 32],
    pub addr: SocketAddrV4,
}

/// XOR-distance comparison of `a` and `b` toward `target` (`Query._compare`).
pub fn compare(target: &[u8; 32], a: &[u8; 32], b: &[u8; 32]) -> std::cmp::Ordering {
    for i in 0..32 {
        let da = a[i] ^ target[i];
        let db = b[i] ^ target[i];
        if da != db {
            return da.cmp(&db);
        }
    }
    std::cmp::Ordering::Equal
}
