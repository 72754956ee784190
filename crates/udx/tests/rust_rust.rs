//! Rust ↔ Rust over loopback: bytes arrive exactly, both directions, with half-close.
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_to_rust_4mib_both_ways() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    let mut sb = b.connect(2, 1, a.local_addr().unwrap());
    let data: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 1000) as u8)
        .collect();
    let d2 = data.clone();
    let t = tokio::spawn(async move {
        sb.write_all(&d2).await.unwrap();
        sb.shutdown().await.unwrap();
        let mut got = Vec::new();
        sb.read_to_end(&mut got).await.unwrap();
        (got, sb)
    });
    sa.write_all(&data).await.unwrap();
    sa.shutdown().await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), sa.read_to_end(&mut got))
        .await
        .expect("in time")
        .unwrap();
    assert!(got == data, "a received {} bytes", got.len());
    let (got_b, sb) = t.await.unwrap();
    assert!(got_b == data);
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), sa.closed())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), sb.closed())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_hook_connects_on_first_packet_and_keepalive_is_acked() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let a_addr = a.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    // b accepts only packets from a's address, and connects back to stream 1 there
    let mut sb = b.accept(
        2,
        Box::new(move |from| {
            s2.lock().unwrap().push(from);
            (from == a_addr).then_some((1, from))
        }),
    );
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    sa.set_keepalive(Some(std::time::Duration::from_millis(20)));
    sa.write_all(b"first").await.unwrap();
    let mut buf = [0u8; 5];
    sb.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"first");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        &[a_addr],
        "hook ran once, for the first packet"
    );
    sb.write_all(b"back").await.unwrap();
    let mut buf = [0u8; 4];
    sa.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"back");
    // idle with keep-alive: heartbeats are answered, the stream stays open
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    sa.write_all(b"!").await.unwrap();
    let mut one = [0u8; 1];
    sb.read_exact(&mut one).await.unwrap();
    sa.destroy();
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), sb.closed())
            .await
            .unwrap(),
        Some(hyperdht_udx::UdxError::ConnectionReset)
    );

    // a stranger's packet is rejected by the hook and never delivered
    let c = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sd = b.accept(3, Box::new(|_| None));
    let mut sc = c.connect(9, 3, b.local_addr().unwrap());
    sc.write_all(b"nope").await.unwrap();
    let mut x = [0u8; 1];
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), sd.read(&mut x))
            .await
            .is_err(),
        "nothing delivered"
    );
    sc.destroy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_close_destroys_streams_and_peer_sees_reset() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    let mut sb = b.connect(2, 1, a.local_addr().unwrap());
    sa.write_all(b"hi").await.unwrap();
    let mut got = [0u8; 2];
    sb.read_exact(&mut got).await.unwrap();
    a.close();
    let t = std::time::Duration::from_secs(5);
    // a local destroy closes without an error, as in libudx
    assert_eq!(tokio::time::timeout(t, sa.closed()).await.unwrap(), None);
    assert_eq!(
        tokio::time::timeout(t, sb.closed()).await.unwrap(),
        Some(hyperdht_udx::UdxError::ConnectionReset)
    );
    a.close();
}

/// A reader that stops reading stalls the writer: the receiver buffers at most its window
/// (4 MiB, `UDX_DEFAULT_RWND_MAX`) and the writer at most its high-water mark (4 MiB unsent)
/// before `write` blocks; when the reader drains, every byte arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_reader_bounds_the_writer_then_everything_arrives() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    const TOTAL: usize = 24 << 20;
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    let mut sb = b.connect(2, 1, a.local_addr().unwrap());
    let byte = |i: usize| (i.wrapping_mul(31) ^ (i >> 11)) as u8;
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    let writer = tokio::spawn(async move {
        let mut off = 0;
        while off < TOTAL {
            let chunk: Vec<u8> = (off..(off + 65536).min(TOTAL)).map(byte).collect();
            sa.write_all(&chunk).await.unwrap();
            off += chunk.len();
            w.store(off, Ordering::Relaxed);
        }
        sa.shutdown().await.unwrap();
        sa
    });
    // nobody reads b for a second
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stalled = written.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = written.load(Ordering::Relaxed);
    assert_eq!(stalled, later, "the writer is stalled");
    let bound = (4 << 20) + (4 << 20) + 65536 * 2;
    assert!(
        stalled >= 4 << 20 && stalled <= bound,
        "writer got {stalled} bytes out with the reader stopped (bound {bound})"
    );
    let mut got = 0usize;
    let mut all = Vec::with_capacity(TOTAL);
    let mut buf = vec![0u8; 1 << 16];
    let t = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let n = sb.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            got += n;
        }
    })
    .await;
    assert!(t.is_ok(), "reader finished in time, got {got}");
    assert_eq!(got, TOTAL);
    assert!(
        all.iter().enumerate().all(|(i, &x)| x == byte(i)),
        "bytes arrive exactly"
    );
    let sa = writer.await.unwrap();
    sb.shutdown().await.unwrap();
    let t = Duration::from_secs(5);
    assert_eq!(tokio::time::timeout(t, sa.closed()).await.unwrap(), None);
    assert_eq!(tokio::time::timeout(t, sb.closed()).await.unwrap(), None);
}

/// A reserved stream (hyperdht's client stream before the handshake reply is handled) keeps what
/// the peer sends first and reads it once connected, without the peer retransmitting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_stream_keeps_datagrams_that_arrive_before_connect() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sa = a.reserve(1);
    let mut sb = b.connect(2, 1, a.local_addr().unwrap());
    sb.write_all(b"hello before connect").await.unwrap();
    // the datagram reached the unconnected stream (bounded wait on an observable state)
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while sa.kept_datagrams() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("datagram kept");
    sa.connect(2, b.local_addr().unwrap());
    assert_eq!(sa.kept_datagrams(), 0);
    // the kept datagram was processed inside connect(): the bytes are readable right away,
    // before anything more could arrive from the network
    let mut got = [0u8; 20];
    let mut buf = tokio::io::ReadBuf::new(&mut got);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let polled = std::pin::Pin::new(&mut sa).poll_read(&mut cx, &mut buf);
    assert!(
        matches!(polled, std::task::Poll::Ready(Ok(()))),
        "readable at once"
    );
    assert_eq!(buf.filled(), b"hello before connect");
    sa.write_all(b"ok").await.unwrap();
    let mut back = [0u8; 2];
    sb.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ok");
}

/// A reserved stream that never connects is removed from its socket once destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_stream_destroyed_unconnected_closes() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let sa = a.reserve(7);
    sa.destroy();
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(5), sa.closed())
            .await
            .is_ok()
    );
}
