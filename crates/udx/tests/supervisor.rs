//! Issue 14 #8: a panic in a socket's driver task closes its streams with `DriverFailed`
//! (readers and waiters wake with the error) instead of freezing them; streams made later start
//! closed.
use std::time::Duration;

use hyperdht_udx::{UdxError, UdxSocket};
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_panic_closes_every_stream_with_an_error() {
    let a = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdxSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut sa = a.connect(1, 2, b.local_addr().unwrap());
    let _sb = b.connect(2, 1, a.local_addr().unwrap());
    let reader = tokio::spawn(async move {
        let mut buf = [0u8; 16];
        let r = sa.read(&mut buf).await;
        (r.map_err(|e| e.to_string()), sa)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.inject_driver_panic();

    let within = Duration::from_secs(2);
    let (r, sa) = tokio::time::timeout(within, reader)
        .await
        .expect("the reader wakes")
        .unwrap();
    assert!(r.is_err(), "{r:?}");
    let closed = tokio::time::timeout(within, sa.closed())
        .await
        .expect("closed");
    assert_eq!(closed, Some(UdxError::DriverFailed));
    let later = a.connect(3, 4, b.local_addr().unwrap());
    let closed = tokio::time::timeout(within, later.closed())
        .await
        .expect("closed");
    assert_eq!(closed, Some(UdxError::DriverFailed));
}
