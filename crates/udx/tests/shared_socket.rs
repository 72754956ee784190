//! A UDX stream sharing the DHT's server socket (`05-udx.md` §2): dht-rpc hands us every
//! datagram that is not a DHT frame and sends ours; DHT traffic keeps working on the same port.
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyperdht_rpc::{Dht, DhtOptions, SocketKind};
use hyperdht_udx::{Transport, UdxSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct DhtTransport(Dht);

impl Transport for DhtTransport {
    fn send(&self, to: SocketAddr, data: &[u8]) {
        if let SocketAddr::V4(a) = to {
            self.0.send_raw(SocketKind::Server, a, data.to_vec());
        }
    }

    // GSO runs through the DHT socket's batched path (switches it on at first use)
    fn send_batch(&self, to: SocketAddr, data: &[u8], segment_size: usize) {
        if let SocketAddr::V4(a) = to {
            self.0.send_batch(a, data, segment_size);
        }
    }

    fn max_segments(&self) -> usize {
        self.0.max_segments()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udx_stream_on_the_dht_socket() {
    let dht = Dht::new(DhtOptions {
        host: "127.0.0.1".parse().unwrap(),
        firewalled: false,
        ephemeral: Some(false),
        ..DhtOptions::default()
    })
    .unwrap();
    dht.ready().await.unwrap();
    let udx = UdxSocket::with_transport(Arc::new(DhtTransport(dht.clone())));
    // received batches: each datagram fed without a flush, one flush per batch
    let fed = Arc::new(AtomicUsize::new(0));
    let batches = Arc::new(AtomicUsize::new(0));
    let feed = udx.clone();
    let f2 = fed.clone();
    dht.set_foreign_datagram_handler(Box::new(move |_socket, from, d| {
        if feed.feed_deferred(SocketAddr::V4(from), d) {
            f2.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let flush = udx.clone();
    let b2 = batches.clone();
    dht.set_foreign_batch_end(Box::new(move || {
        b2.fetch_add(1, Ordering::Relaxed);
        flush.flush_fed();
    }));
    let dht_addr: SocketAddrV4 = dht.server_address();

    let peer = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let a = udx.connect(10, 20, peer.local_addr().unwrap());
    let mut b = peer.connect(20, 10, SocketAddr::V4(dht_addr));
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let d2 = data.clone();
    let t = tokio::spawn(async move {
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        // and as much back, so the shared socket both sends and receives bulk data
        b.write_all(&got).await.unwrap();
        b.shutdown().await.unwrap();
        got
    });
    let (mut ar, mut aw) = tokio::io::split(a);
    let writer = async {
        aw.write_all(&data).await.unwrap();
        aw.shutdown().await.unwrap();
    };
    let mut back = Vec::new();
    // the read half runs beside the writer, so neither side's window fills up
    let (_, r) = tokio::join!(writer, ar.read_to_end(&mut back));
    r.unwrap();
    assert!(
        back == data,
        "bytes echoed over the shared socket arrive exactly"
    );
    assert!(
        t.await.unwrap() == d2,
        "bytes over the shared socket arrive exactly"
    );
    let (fed, batches) = (fed.load(Ordering::Relaxed), batches.load(Ordering::Relaxed));
    assert!(
        batches < fed,
        "received datagrams are handled in batches ({fed} datagrams, {batches} batches)"
    );

    // the DHT still answers on the same port
    let client = Dht::new(DhtOptions {
        host: "127.0.0.1".parse().unwrap(),
        ephemeral: Some(true),
        ..DhtOptions::default()
    })
    .unwrap();
    let pong = client.ping(dht_addr).await.unwrap();
    assert_eq!(pong.from, dht_addr);
    client.destroy().await;
    dht.destroy().await;
}
