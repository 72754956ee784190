//! `UdxSocket::try_reserve` (ids are never handed out twice on one socket, as hyperdht's
//! `lib/raw-stream-set.js` rolls ids until a free one) and `UdxStream::poll_message` (udx-native's
//! `message` event): a reserved stream keeps early data until connected; `UdxStream::on_message`.
use std::time::Duration;

use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_reserve_refuses_an_id_in_use_and_frees_it_on_close() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let s = a.try_reserve(7).expect("free id");
    assert!(a.try_reserve(7).is_none(), "id 7 is taken");
    // streams made the other ways count too
    let c = a.connect(8, 1, "127.0.0.1:9".parse().unwrap());
    assert!(a.try_reserve(8).is_none(), "id 8 is taken");
    s.destroy();
    c.destroy();
    // the driver forgets closed streams on its next turn
    let freed = tokio::time::timeout(T, async {
        loop {
            if let Some(s) = a.try_reserve(7) {
                return s;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("id 7 freed");
    freed.destroy();
    a.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_stream_keeps_early_data_and_messages_arrive() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let sb = b.try_reserve(2).unwrap();
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    sa.write_all(b"early").await.unwrap();
    // b connects only after a wrote
    tokio::time::timeout(T, async {
        while sb.kept_datagrams() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("early datagram kept");
    sb.connect(1, a.local_addr().unwrap());
    let mut sb = sb;
    let mut got = [0u8; 5];
    tokio::time::timeout(T, sb.read_exact(&mut got))
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(&got, b"early");

    assert!(sa.send_message(b"ping"));
    let m = tokio::time::timeout(T, std::future::poll_fn(|cx| sb.poll_message(cx)))
        .await
        .expect("message in time");
    assert_eq!(m.as_deref(), Some(&b"ping"[..]));

    // a waiting poll_message ends with None when the stream closes
    let waiter = tokio::spawn(async move {
        let m = std::future::poll_fn(|cx| sb.poll_message(cx)).await;
        (m, sb)
    });
    sa.destroy();
    let (m, _sb) = tokio::time::timeout(T, waiter)
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(m, None);
    a.close();
    b.close();
}

/// `UdxStream::on_message`: messages already queued go to the hook first, then every later one
/// as it arrives, in order; none is left for `poll_message`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_hook_takes_queued_then_arriving_messages() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let sa = a.connect(1, 2, b.local_addr().unwrap());
    let sb = b.connect(2, 1, a.local_addr().unwrap());
    assert!(sa.send_message(b"queued"));
    // wait until it is queued at b (nobody polls yet)
    let first = tokio::time::timeout(T, std::future::poll_fn(|cx| sb.poll_message(cx)))
        .await
        .expect("first message in time");
    assert_eq!(first.as_deref(), Some(&b"queued"[..]));
    assert!(sa.send_message(b"one"));
    // usually "one" is queued by the time the hook is set (the order holds either way)
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    sb.on_message(Box::new(move |m| {
        let _ = tx.send(m);
    }));
    assert!(sa.send_message(b"two"));
    let mut got = Vec::new();
    while got.len() < 2 {
        let m = tokio::time::timeout(T, rx.recv())
            .await
            .expect("hooked message in time")
            .expect("hook alive");
        got.push(m);
    }
    assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    sa.destroy();
    sb.destroy();
    a.close();
    b.close();
}
