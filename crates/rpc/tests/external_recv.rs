//! `Dht::external_server_recv` (issue 16): the receiver another event loop drives. A batch that
//! leaves receive slots empty says the queue was drained (`ServerRecv::drained`), so a
//! level-triggered poller reads once per wake-up instead of once more for a `WouldBlock`.

use std::time::{Duration, Instant};

use hyperdht_rpc::driver::ServerRecv;
use tokio::net::UdpSocket;

mod common;
use common::{bootstrapper, LOCALHOST};

/// Receives batches until `want` datagrams arrived (each taken, none left for the driver),
/// returning (datagrams, drained) per batch; fails after 5 s.
async fn batches(recv: &mut ServerRecv, want: usize) -> Vec<(usize, bool)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    let mut got = 0;
    while got < want {
        assert!(
            Instant::now() < deadline,
            "only {got} of {want} datagrams arrived"
        );
        match recv.recv_batch(|_, _| true) {
            Ok(n) => {
                got += n;
                out.push((n, recv.drained()));
            }
            // not there yet: loopback delivery is immediate, so this is the other task's send
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => tokio::task::yield_now().await,
            Err(e) => panic!("recv: {e}"),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_room_left_says_drained() {
    let (dht, addr) = bootstrapper().await;
    let Some(mut recv) = dht.external_server_recv() else {
        panic!("batched I/O is available on Linux");
    };
    let peer = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();

    // one datagram: one batch, drained (no second read needed)
    peer.send_to(b"\x03one", addr).await.unwrap();
    assert_eq!(batches(&mut recv, 1).await, vec![(1, true)]);

    // more than a batch holds: full batches say not drained, the last one (room left) does
    for i in 0..20u8 {
        peer.send_to(&[0x03, i], addr).await.unwrap();
    }
    let b = batches(&mut recv, 20).await;
    assert_eq!(b.iter().map(|x| x.0).sum::<usize>(), 20);
    let (last, full) = b.split_last().unwrap();
    assert!(last.1, "the last batch emptied the queue: {b:?}");
    assert!(full.iter().all(|x| !x.1), "a full batch cannot tell: {b:?}");
    assert!(
        !full.is_empty(),
        "20 datagrams need more than one batch: {b:?}"
    );
    drop(recv);
    dht.destroy().await;
}
