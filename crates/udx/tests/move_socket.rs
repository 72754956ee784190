//! `UdxStream::move_to`: a live stream changes sockets in the middle of a transfer (udx-native's
//! `changeRemote(socket, ...)` with another socket, what hyperdht does when a relayed connection
//! upgrades to a path punched from a pool socket). The bytes arrive exactly, both ways; the old
//! socket forgets the stream and the new one carries it, its timers included.
use std::time::Duration;

use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(20);

fn sock() -> UdxSocket {
    UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(seed) ^ (i >> 9)) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_moves_to_another_socket_mid_transfer() {
    let a = sock();
    let b = sock();
    let peer = sock();
    let mut s = a.connect(1, 2, peer.local_addr().unwrap());
    let mut p = peer.connect(2, 1, a.local_addr().unwrap());
    let half = 2 * 1024 * 1024;
    let (out, back) = (pattern(2 * half, 7), pattern(2 * half, 13));

    // first half each way on socket a
    let (o1, b1) = (out[..half].to_vec(), back[..half].to_vec());
    let w = tokio::spawn(async move {
        p.write_all(&b1).await.unwrap();
        let mut got = vec![0; half];
        p.read_exact(&mut got).await.unwrap();
        (p, got)
    });
    s.write_all(&o1).await.unwrap();
    let mut got_s = vec![0; half];
    tokio::time::timeout(T, s.read_exact(&mut got_s))
        .await
        .expect("first half in time")
        .unwrap();
    let (mut p, got_p) = w.await.unwrap();

    // move: s now lives on b (its sends leave from b), but datagrams the peer still sends to a
    // reach it there (libudx retransmits to where a packet first went): a quarter of the
    // second half goes that way before the peer learns the new address
    assert!(s.move_to(&b));
    assert_eq!(
        a.stream_count(),
        0,
        "the old socket no longer runs the stream"
    );
    assert_eq!(b.stream_count(), 1);
    let q = half / 4;
    p.write_all(&back[half..half + q]).await.unwrap();
    let mut got = vec![0; q];
    tokio::time::timeout(T, s.read_exact(&mut got))
        .await
        .expect("old-path data in time")
        .unwrap();
    got_s.extend(got);
    p.change_remote(1, b.local_addr().unwrap());
    // udx-native's `remote-changed`: once the peer acknowledged what went the old way
    let changed = {
        let r = p.downgrade();
        tokio::spawn(async move { r.remote_changed(0).await })
    };

    // second half each way, then both ends close cleanly on b
    let (o2, b2) = (out[half..].to_vec(), back[half + q..].to_vec());
    let w = tokio::spawn(async move {
        p.write_all(&b2).await.unwrap();
        p.shutdown().await.unwrap();
        let mut rest = Vec::new();
        p.read_to_end(&mut rest).await.unwrap();
        (p, rest)
    });
    s.write_all(&o2).await.unwrap();
    s.shutdown().await.unwrap();
    let mut rest_s = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut rest_s))
        .await
        .expect("second half in time")
        .unwrap();
    let (p, rest_p) = w.await.unwrap();
    got_s.extend(rest_s);
    assert!(got_s == back, "s received {} bytes", got_s.len());
    let mut got_p = got_p;
    got_p.extend(rest_p);
    assert!(got_p == out, "peer received {} bytes", got_p.len());
    assert_eq!(tokio::time::timeout(T, s.closed()).await.unwrap(), None);
    assert_eq!(tokio::time::timeout(T, p.closed()).await.unwrap(), None);
    let changed = tokio::time::timeout(T, changed).await.unwrap().unwrap();
    assert_eq!(changed, Some(1), "one remote change, reported");
    for x in [a, b, peer] {
        x.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_is_refused_when_the_id_is_taken_or_the_target_closed() {
    let a = sock();
    let b = sock();
    let c = sock();
    let s = a.connect(5, 9, "127.0.0.1:9".parse().unwrap());
    let other = b.try_reserve(5).expect("free on b");
    assert!(!s.move_to(&b), "id 5 is taken on b");
    // the old socket keeps taking a moved stream's datagrams: its id stays taken there
    assert_eq!(
        a.stream_count(),
        1,
        "the refused move left the stream where it was"
    );
    c.close();
    assert!(!s.move_to(&c), "c is closed");
    // its id is free on a once it moved; a closed stream does not move
    let d = sock();
    assert!(s.move_to(&d));
    assert!(
        a.try_reserve(5).is_none(),
        "id 5 still reaches the moved stream on a"
    );
    s.destroy();
    assert!(
        a.try_reserve(5).is_some(),
        "id 5 is free on a once the stream closed"
    );
    assert!(!s.move_to(&b), "a destroyed stream stays");
    other.destroy();
    for x in [a, b, d] {
        x.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_socket_runs_the_moved_streams_retransmits() {
    // data written before the move and lost (the peer was not listening yet) is retransmitted
    // from the new socket: its timers moved with it
    let a = sock();
    let b = sock();
    let peer = sock();
    let dead: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut s = a.connect(1, 2, dead);
    s.write_all(b"sent into the void first").await.unwrap();
    assert!(s.move_to(&b));
    s.change_remote(2, peer.local_addr().unwrap());
    let mut p = peer.connect(2, 1, b.local_addr().unwrap());
    let mut got = vec![0; 24];
    tokio::time::timeout(T, p.read_exact(&mut got))
        .await
        .expect("retransmitted from b in time")
        .unwrap();
    assert_eq!(&got, b"sent into the void first");
    s.destroy();
    p.destroy();
    for x in [a, b, peer] {
        x.close();
    }
}
