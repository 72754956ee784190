//! The sans-IO driver: timers, deliveries, run_until / run_until_cond, ports, mixed endpoint
//! kinds, and the livelock guard.

mod common;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use common::sa;
use hyperdht_netsim::{seed_from_env, Endpoint, NatClass, Net, NetConfig, Transmit, World};

/// Sends a numbered ping every `every` to `to` and records the round trips of the echoes.
struct Pinger {
    to: SocketAddrV4,
    every: Duration,
    next: Option<Instant>,
    out: Vec<Transmit>,
    sent: Vec<Instant>,
    rtts: Vec<Duration>,
}

impl Pinger {
    fn new(to: SocketAddrV4, every: Duration, start: Instant) -> Self {
        Pinger {
            to,
            every,
            next: Some(start),
            out: Vec::new(),
            sent: Vec::new(),
            rtts: Vec::new(),
        }
    }
}

impl Endpoint for Pinger {
    fn handle_datagram(&mut self, _port: u16, _from: SocketAddrV4, data: &[u8], now: Instant) {
        let i = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
        self.rtts.push(now - self.sent[i]);
    }
    fn handle_timeout(&mut self, now: Instant) {
        let i = self.sent.len() as u32;
        self.sent.push(now);
        self.out.push(Transmit {
            src_port: 4000,
            to: self.to,
            data: i.to_be_bytes().to_vec(),
            ttl: None,
        });
        self.next = Some(now + self.every);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
}

/// Echoes everything back from the port it arrived on; remembers the ports.
#[derive(Default)]
struct Echo {
    out: Vec<Transmit>,
    ports: Vec<u16>,
}

impl Endpoint for Echo {
    fn handle_datagram(&mut self, port: u16, from: SocketAddrV4, data: &[u8], _now: Instant) {
        self.ports.push(port);
        self.out.push(Transmit {
            src_port: port,
            to: from,
            data: data.to_vec(),
            ttl: None,
        });
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn ping_through_a_nat_every_100ms() {
    let seed = seed_from_env(200);
    let mut net = Net::new(seed);
    let client = net.add_host_class(NatClass::Random);
    let server = net.add_public_host();
    let to = sa(net.host_ip(server), 9);
    let start = net.now();
    let mut w: World<Box<dyn Endpoint>> = World::new(net);
    let p = w.add(
        client,
        Box::new(Pinger::new(to, Duration::from_millis(100), start)),
    );
    let e = w.add(server, Box::new(Echo::default()));
    assert_eq!((p, e), (0, 1));
    w.run_for(Duration::from_millis(1050));
    assert_eq!(w.now() - start, Duration::from_millis(1050), "{}", w.tag());
    let c = w.net().counters();
    // pings at 0, 100, ..., 1000 ms: 11 sent, each echoed 20 ms later
    assert_eq!((c.sent, c.delivered), (22, 22), "{}", w.tag());
    assert_eq!(w.net().host_counters(client).received, 11);
    assert_eq!(
        w.net().counters().mappings,
        1,
        "one destination, one mapping"
    );
}

#[test]
fn endpoints_between_steps_and_rtts() {
    let seed = seed_from_env(201);
    let mut net = Net::new(seed);
    let (a, b) = (net.add_public_host(), net.add_public_host());
    let to = sa(net.host_ip(b), 9);
    let start = net.now();
    let mut w = World::new(net);
    let mut pinger = Pinger::new(to, Duration::from_secs(3600), start);
    pinger.next = None;
    let p = w.add(a, Box::new(pinger) as Box<dyn Endpoint>);
    w.add(b, Box::new(Echo::default()));
    // nothing scheduled: step reports it
    assert!(!w.step());
    // kick it by hand: its timer fires now
    w.endpoint_mut(p).handle_timeout(start);
    let got = w.run_until_cond(start + Duration::from_secs(1), |w| {
        w.net().counters().delivered == 2
    });
    assert!(got, "{}", w.net().trace_dump(10));
    assert_eq!(
        w.now() - start,
        Duration::from_millis(20),
        "stops at the event, {}",
        w.tag()
    );
    // a condition that never holds stops at the deadline
    let deadline = w.now() + Duration::from_millis(500);
    assert!(!w.run_until_cond(deadline, |_| false));
    assert_eq!(w.now(), deadline);
}

/// Both kinds in one `World<Either>` (a concrete type, so results stay reachable).
enum Either {
    Pinger(Pinger),
    Echo(Echo),
}

impl Either {
    fn ep(&mut self) -> &mut dyn Endpoint {
        match self {
            Either::Pinger(p) => p,
            Either::Echo(e) => e,
        }
    }
}

impl Endpoint for Either {
    fn handle_datagram(&mut self, port: u16, from: SocketAddrV4, data: &[u8], now: Instant) {
        self.ep().handle_datagram(port, from, data, now)
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ep().handle_timeout(now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ep().poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Either::Pinger(p) => p.poll_timeout(),
            Either::Echo(e) => e.poll_timeout(),
        }
    }
}

#[test]
fn rtt_is_twice_the_one_way_delay_and_every_port_reaches_the_endpoint() {
    let seed = seed_from_env(202);
    let mut net = Net::with_config(
        seed,
        NetConfig {
            internet: hyperdht_netsim::Link::with_latency(Duration::from_millis(25)),
            ..NetConfig::default()
        },
    );
    let (a, b) = (
        net.add_host_class(NatClass::Consistent),
        net.add_public_host(),
    );
    let start = net.now();
    let to = sa(net.host_ip(b), 31337);
    let mut w: World<Either> = World::new(net);
    let p = w.add(
        a,
        Either::Pinger(Pinger::new(to, Duration::from_millis(200), start)),
    );
    let e = w.add(b, Either::Echo(Echo::default()));
    w.run_for(Duration::from_millis(1000));
    let Either::Pinger(pinger) = w.endpoint(p) else {
        unreachable!()
    };
    assert_eq!(pinger.rtts.len(), 5, "{}", w.tag());
    assert!(
        pinger.rtts.iter().all(|r| *r == Duration::from_millis(50)),
        "{}",
        w.tag()
    );
    // the echo never bound 31337 or 80: the world hands it everything for its host
    let other_port = SocketAddrV4::new(w.net().host_ip(b), 80);
    w.net_mut().send(a, 4000, other_port, vec![0; 4], None);
    w.run_for(Duration::from_millis(100));
    let Either::Echo(echo) = w.endpoint(e) else {
        unreachable!()
    };
    assert_eq!(
        echo.ports,
        [31337, 31337, 31337, 31337, 31337, 31337, 80],
        "{}",
        w.tag()
    );
}

/// An endpoint that always wants a timer now: the world must stop it.
struct Spinner;

impl Endpoint for Spinner {
    fn handle_datagram(&mut self, _: u16, _: SocketAddrV4, _: &[u8], _: Instant) {}
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Some(hyperdht_netsim::clock::epoch())
    }
}

#[test]
#[should_panic(expected = "did not settle")]
fn a_spinning_timer_is_a_livelock() {
    let mut net = Net::new(seed_from_env(204));
    let h = net.add_public_host();
    let mut w = World::new(net);
    w.set_event_limit(1000);
    w.add(h, Spinner);
    w.run_for(Duration::from_secs(1));
}

#[test]
fn a_zero_latency_ping_pong_is_a_livelock_with_the_seed_in_the_message() {
    let seed = seed_from_env(205);
    let mut net = Net::with_config(
        seed,
        NetConfig {
            internet: hyperdht_netsim::Link::IDEAL,
            ..NetConfig::default()
        },
    );
    let (a, b) = (net.add_public_host(), net.add_public_host());
    let mut w = World::new(net);
    w.set_event_limit(500);
    w.add(a, Echo::default());
    w.add(b, Echo::default());
    let to = sa(w.net().host_ip(b), 1);
    w.net_mut().send(a, 1, to, vec![1], None);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.run_for(Duration::from_secs(1))
    }))
    .expect_err("must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("did not settle"), "{msg}");
    assert!(msg.contains(&format!("seed={seed}")), "{msg}");
    assert!(
        msg.contains("delivered"),
        "the message carries the trace: {msg}"
    );
}
