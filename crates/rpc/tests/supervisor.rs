//! Issue 14 #8: a panic in the driver task fails what is pending and everything after it with
//! `DriverFailed` instead of leaving callers hanging until `destroy()`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use hyperdht_rpc::driver::{Dht, DhtOptions, QueryEvent, QueryParams};
use hyperdht_rpc::node::RequestSpec;
use hyperdht_rpc::RpcError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_panic_fails_pending_and_later_requests_and_queries() {
    let mut opts = DhtOptions::bootstrapper(0, Ipv4Addr::LOCALHOST);
    opts.any_port = true;
    let dht = Dht::bind(opts).await.expect("bind");
    // a black hole: nobody listens there, the request would wait out its retries (~4 s)
    let hole = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9);
    let pending = tokio::spawn(dht.request(RequestSpec::new(hole, false, 7)));
    let mut query = dht.query(QueryParams {
        target: [1; 32],
        command: 7,
        internal: false,
        value: None,
        concurrency: None,
        nodes: vec![hole],
        only_closest_nodes: true,
        force: false,
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    dht.inject_driver_panic();

    let within = Duration::from_secs(2);
    let r = tokio::time::timeout(within, pending)
        .await
        .expect("no hang");
    assert!(matches!(r.unwrap(), Err(RpcError::DriverFailed(_))));
    let end = loop {
        match tokio::time::timeout(within, query.next())
            .await
            .expect("no hang")
        {
            Some(QueryEvent::Done { error, .. }) => break error,
            Some(_) => continue,
            None => break None,
        }
    };
    assert!(matches!(end, Some(RpcError::DriverFailed(_))), "{end:?}");

    let later = tokio::time::timeout(within, dht.request(RequestSpec::new(hole, false, 7)))
        .await
        .expect("no hang");
    match later {
        Err(e @ RpcError::DriverFailed(_)) => {
            assert!(e.to_string().starts_with("DRIVER_FAILED"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    dht.destroy().await;
}
