//! `UdxSocket::send_raw_ttl` (holepunch probes) goes out at once, also as the very first send of
//! a fresh socket: a birthday burst opens hundreds of sockets and sends one probe from each
//! right away, and each must make its NAT mapping. (tokio's `try_send_to` refused such sends
//! until the reactor had seen the socket writable: the burst made no mappings.)
use std::time::Duration;

use hyperdht_udx::UdxSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_raw_sends_of_fresh_sockets_go_out() {
    let rx = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = rx.local_addr().unwrap();
    let n = 64;
    let sockets: Vec<UdxSocket> = (0..n)
        .map(|_| {
            let s = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            s.send_raw_ttl(to, &[0], 5);
            s
        })
        .collect();
    let mut buf = [0u8; 16];
    for i in 0..n {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv_from(&mut buf)).await;
        assert!(got.is_ok(), "probe {i} of {n} arrived");
    }
    for s in sockets {
        s.close();
    }
}
