//! What the rpc crate's socket tests share.

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdht_rpc::driver::{Dht, DhtOptions};

pub const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A lone bootstrapper bound to 127.0.0.1 on any free port, and its server address.
pub async fn bootstrapper() -> (Dht, SocketAddrV4) {
    let mut opts = DhtOptions::bootstrapper(0, LOCALHOST);
    opts.any_port = true;
    let d = Dht::bind(opts).await.expect("bind");
    let addr = SocketAddrV4::new(LOCALHOST, d.server_address().port());
    (d, addr)
}
