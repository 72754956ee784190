//! Issue 14 #5: with every request outstanding the node neither spins looking for a free tid
//! (it used to loop forever, under the driver's lock, once 65,536 were in flight) nor grows
//! without bound: past `MAX_INFLIGHT` requests fail with `Overloaded` on the next timer turn,
//! and capacity comes back as requests time out.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_rpc::node::{Event, Node, RequestSpec, MAX_INFLIGHT};
use hyperdht_rpc::{Config, RpcError};

fn outcomes(node: &mut Node) -> (usize, usize, usize) {
    let (mut overloaded, mut timeouts, mut other) = (0, 0, 0);
    while let Some(ev) = node.poll_event() {
        if let Event::Response { result, .. } = ev {
            match result {
                Err(RpcError::Overloaded) => overloaded += 1,
                Err(RpcError::RequestTimeout) => timeouts += 1,
                _ => other += 1,
            }
        }
    }
    (overloaded, timeouts, other)
}

#[test]
fn seventy_thousand_requests_to_a_black_hole_are_capped_not_spun_on() {
    let mut now = Instant::now();
    let mut node = Node::new(Config::default(), now);
    node.start(40999, now);
    let hole = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 5000);
    let total = 70_000usize;
    for req in 0..total as u64 {
        let mut spec = RequestSpec::new(hole, false, 7);
        spec.retries = 0;
        node.request(req, spec, now);
    }
    assert_eq!(node.inflight_len(), MAX_INFLIGHT);
    while node.poll_transmit().is_some() {}
    // the refused ones fail on the next turn, which is due now
    assert!(node.poll_timeout().is_some_and(|t| t <= now));
    node.handle_timeout(now);
    assert_eq!(outcomes(&mut node), (total - MAX_INFLIGHT, 0, 0));

    // every admitted request times out in the end (the congestion window sends them in
    // batches); capacity returns and a new request is admitted
    let mut timeouts = 0;
    let deadline = now + Duration::from_secs(3600);
    while timeouts < MAX_INFLIGHT && now < deadline {
        now = node.poll_timeout().unwrap_or(now).max(now) + Duration::from_millis(1);
        node.handle_timeout(now);
        while node.poll_transmit().is_some() {}
        let (o, t, other) = outcomes(&mut node);
        assert_eq!((o, other), (0, 0));
        timeouts += t;
    }
    assert_eq!(timeouts, MAX_INFLIGHT);
    assert_eq!(node.inflight_len(), 0);
    node.request(1, RequestSpec::new(hole, false, 7), now);
    assert_eq!(node.inflight_len(), 1);
}

/// Requests made while suspended beyond the congestion window wait in its queue; at resume the
/// ones that went (into the closed socket) go again once each and the queued ones go through
/// the queue: every request is sent exactly once after resume.
#[test]
fn resume_sends_each_request_made_while_suspended_once() {
    let now = Instant::now();
    let mut node = Node::new(Config::default(), now);
    node.start(40999, now);
    node.suspend(now);
    let hole = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 5000);
    let total = 200usize; // more than the window (80)
    for req in 0..total as u64 {
        let mut spec = RequestSpec::new(hole, false, 7);
        spec.timeout = Some(Duration::from_secs(60));
        node.request(req, spec, now);
    }
    while node.poll_transmit().is_some() {}
    node.resume(now);
    let mut sent = 0;
    let mut t = now;
    // the queue drains as the window frees (requests to a black hole free it only by timing
    // out, after 60 s; the window's own drain runs every 750 ms)
    while t < now + Duration::from_secs(30) {
        while let Some(d) = node.poll_transmit() {
            if d.to == hole {
                sent += 1;
            }
        }
        t = node.poll_timeout().unwrap_or(t).max(t) + Duration::from_millis(1);
        node.handle_timeout(t);
    }
    assert_eq!(sent, total, "datagrams for {total} requests");
}
