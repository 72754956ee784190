//! UDX on the DHT's server socket, like hyperdht (`lib/connect.js` and `lib/server.js` create
//! their streams on `dht.io.serverSocket`'s udx-native socket): outgoing UDX datagrams go out
//! through the rpc driver (GSO-batched once a stream sends), incoming non-DHT datagrams are
//! fed to the UDX endpoint one received batch at a time.

use std::net::SocketAddr;
use std::sync::Arc;

use hyperdht_rpc::Dht;
use hyperdht_udx::{Transport, UdxSocket};

/// [`Transport`] over a [`Dht`]'s server socket.
pub struct DhtTransport(pub Dht);

impl Transport for DhtTransport {
    fn send(&self, to: SocketAddr, data: &[u8]) {
        if let SocketAddr::V4(a) = to {
            self.0.send_batch(a, data, data.len());
        }
    }

    fn send_batch(&self, to: SocketAddr, data: &[u8], segment_size: usize) {
        if let SocketAddr::V4(a) = to {
            self.0.send_batch(a, data, segment_size);
        }
    }

    fn max_segments(&self) -> usize {
        self.0.max_segments()
    }
}

/// A UDX endpoint sharing `dht`'s server socket (requires a tokio runtime). Non-DHT datagrams
/// are fed to it; [`crate::HyperDht::attach_udx`] later adds holepunch-probe routing.
pub fn udx_on_dht(dht: &Dht) -> UdxSocket {
    let udx = UdxSocket::with_transport(Arc::new(DhtTransport(dht.clone())));
    let feed = udx.clone();
    dht.set_foreign_datagram_handler(Box::new(move |_socket, from, d| {
        feed.feed_deferred(SocketAddr::V4(from), d);
    }));
    let flush = udx.clone();
    dht.set_foreign_batch_end(Box::new(move || flush.flush_fed()));
    udx
}
