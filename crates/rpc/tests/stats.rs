//! Socket counters of the tokio driver (`Dht::stats().socket`) on real 127.0.0.1 sockets: every
//! datagram in and out of a lone node is counted with its size, DHT frames and foreign datagrams
//! alike, next to the frame counters of the node.

use std::net::SocketAddrV4;
use std::time::Duration;

use hyperdht_rpc::messages::RequestFrame;
use hyperdht_rpc::node::SocketKind;
use hyperdht_rpc::stats::SocketStats;
use tokio::net::UdpSocket;

mod common;
use common::{bootstrapper, LOCALHOST};

fn ping(tid: u16, to: SocketAddrV4) -> Vec<u8> {
    RequestFrame {
        tid,
        to,
        id: None,
        token: None,
        internal: true,
        command: 0,
        target: None,
        value: None,
    }
    .encode()
}

#[tokio::test]
async fn socket_counters_count_every_datagram_with_its_size() {
    // a bootstrapper without peers: nothing but our datagrams moves
    let (d, addr) = bootstrapper().await;
    let raw = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let raw_addr = match raw.local_addr().unwrap() {
        std::net::SocketAddr::V4(a) => a,
        _ => unreachable!(),
    };
    let before = d.stats();

    // a PING in, its reply out
    let frame = ping(9, addr);
    raw.send_to(&frame, addr).await.unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .expect("reply")
        .unwrap();
    // a foreign datagram (holepunch probe) in, a raw datagram out
    raw.send_to(&[0], addr).await.unwrap();
    d.send_raw(SocketKind::Server, raw_addr, vec![1, 2, 3]);
    let (m, _) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .expect("raw datagram")
        .unwrap();
    assert_eq!(m, 3);
    // the probe has no answer: wait until the driver has read it
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while d.stats().socket.datagrams_in < before.socket.datagrams_in + 2 {
        assert!(tokio::time::Instant::now() < deadline, "probe not counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let after = d.stats();
    let s = |a: SocketStats, b: SocketStats| SocketStats {
        datagrams_in: b.datagrams_in - a.datagrams_in,
        bytes_in: b.bytes_in - a.bytes_in,
        datagrams_out: b.datagrams_out - a.datagrams_out,
        bytes_out: b.bytes_out - a.bytes_out,
    };
    assert_eq!(
        s(before.socket, after.socket),
        SocketStats {
            datagrams_in: 2,
            bytes_in: (frame.len() + 1) as u64,
            datagrams_out: 2,
            bytes_out: (n + 3) as u64,
        }
    );
    // the frame counters see only the DHT frames
    assert_eq!(after.received - before.received, 1);
    assert_eq!(after.requests_in - before.requests_in, 1);
    assert_eq!(after.internal[0].received - before.internal[0].received, 1);
    assert_eq!(after.sent - before.sent, 1);
    d.destroy().await;
}

#[tokio::test]
async fn batched_sends_count_each_segment() {
    let (d, _) = bootstrapper().await;
    let raw = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let to = match raw.local_addr().unwrap() {
        std::net::SocketAddr::V4(a) => a,
        _ => unreachable!(),
    };
    // one plain datagram first: tokio learns the socket is writable (a batched send on a
    // socket not yet seen writable is dropped like one into a full buffer; still counted)
    d.send_raw(SocketKind::Server, to, vec![0]);
    let mut buf = [0u8; 2048];
    tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .expect("plain datagram")
        .unwrap();
    let before = d.stats().socket;
    // 2500 bytes in 1000-byte segments: three datagrams, however the kernel is asked
    d.send_batch(to, &[7u8; 2500], 1000);
    let mut got = Vec::new();
    for _ in 0..3 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("segment {} of 3; got {got:?}", got.len() + 1))
            .unwrap();
        got.push(n);
    }
    assert_eq!(got, [1000, 1000, 500]);
    let after = d.stats().socket;
    assert_eq!(after.datagrams_out - before.datagrams_out, 3);
    assert_eq!(after.bytes_out - before.bytes_out, 2500);
    d.destroy().await;
}
