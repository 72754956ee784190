//! Rust ↔ Rust over loopback: bytes arrive exactly, both directions, with half-close.
use hyperdht_udx::UdxSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
