//! A GSO-shaped batch sent on one socket arrives as the same datagrams on another (through GRO
//! trains or one by one, whatever this kernel offers).

use hyperdht_udp::BatchUdp;
use tokio::net::UdpSocket;

#[tokio::test]
async fn batch_arrives_as_its_datagrams() {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (ba, bb) = (BatchUdp::new(&a).unwrap(), BatchUdp::new(&b).unwrap());
    assert!(ba.max_segments() >= 1);
    // 10 datagrams of 1000 bytes and a short last one, laid out back to back
    let mut data = Vec::new();
    for i in 0..10u8 {
        data.extend(std::iter::repeat_n(i, 1000));
    }
    data.extend([0xee; 300]);
    // sends are non-blocking attempts (a full buffer drops): wait until tokio knows it is writable
    a.writable().await.unwrap();
    ba.send(&a, b.local_addr().unwrap(), &data, 1000);
    let mut bufs = bb.buffers(8, 2048);
    let mut got: Vec<Vec<u8>> = Vec::new();
    while got.len() < 11 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), bb.recv(&b, &mut bufs))
            .await
            .unwrap_or_else(|_| panic!("datagrams in time, got {}", got.len()))
            .unwrap();
        for (from, d) in bufs.datagrams(n) {
            assert_eq!(from, a.local_addr().unwrap());
            got.push(d.to_vec());
        }
    }
    assert_eq!(got.len(), 11);
    for (i, d) in got.iter().take(10).enumerate() {
        assert_eq!(d.len(), 1000);
        assert!(d.iter().all(|&x| x == i as u8), "datagram {i} intact");
    }
    assert_eq!(got[10], vec![0xee; 300]);
}
