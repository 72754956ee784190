//! Fuzz-style robustness: mutated golden frames, random bytes and truncations are fed to a
//! persistent node (requests) and to a node with many requests in flight (responses matching
//! live tids). Nothing may panic, drops are counted, and the nodes keep working afterwards.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_rpc::messages::{self, Frame, RequestFrame};
use hyperdht_rpc::node::{Config, Event, Node, Reply, RequestSpec, SocketKind};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn golden_frames() -> Vec<Vec<u8>> {
    let p = format!(
        "{}/tests/data/dht-rpc-packets.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).expect("vectors")).expect("json");
    v["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .map(|p| hex::decode(p["hex"].as_str().expect("hex")).expect("hex"))
        .collect()
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    match rng.below(6) {
        0 => d.truncate(rng.below(d.len() + 1)),
        1 => {
            for _ in 0..=rng.below(4) {
                let i = rng.below(d.len());
                if let Some(b) = d.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let i = rng.below(d.len());
            if let Some(b) = d.get_mut(i) {
                *b = rng.next() as u8;
            }
        }
        3 => {
            let extra = rng.below(3000);
            d.extend((0..extra).map(|_| rng.next() as u8));
        }
        4 => {
            // flags byte: any value, including varint prefixes fd/fe/ff
            if let Some(b) = d.get_mut(1) {
                *b = [0xfd, 0xfe, 0xff, 0x1f, 0xff][rng.below(5)];
            }
        }
        _ => {
            d = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            if let Some(b) = d.get_mut(0) {
                *b = if rng.next() & 1 == 0 { 0x03 } else { 0x13 };
            }
        }
    }
    d
}

#[test]
fn mutated_frames_never_panic_and_nodes_keep_working() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let golden = golden_frames();
    let mut now = Instant::now();
    let me = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 30001);
    let mut server = Node::new(
        Config {
            ephemeral: Some(false),
            adaptive: false,
            firewalled: false,
            nat_seed: Some(me),
            ..Config::default()
        },
        now,
    );
    server.start(me.port(), now);
    for i in 2..40u8 {
        server.add_node(SocketAddrV4::new(
            Ipv4Addr::new(10, 0, 0, i),
            40000 + i as u16,
        ));
    }
    let mut client = Node::new(Config::default(), now);
    client.start(40999, now);

    let peers: Vec<SocketAddrV4> = (1..=50u8)
        .map(|i| SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, i), 5000))
        .collect();
    let mut tids = Vec::new();
    for round in 0..40_000u64 {
        // keep requests in flight on the client so responses hit live tids
        if round % 500 == 0 {
            for (k, p) in peers.iter().enumerate() {
                client.request(round + k as u64, RequestSpec::new(*p, true, 0), now);
            }
            while let Some(t) = client.poll_transmit() {
                if let Some(Frame::Request(r)) = messages::decode(&t.data) {
                    tids.push(r.tid);
                }
            }
        }
        let base = &golden[rng.below(golden.len())];
        let mut d = mutate(&mut rng, base);
        let from = peers[rng.below(peers.len())];
        if d.first() == Some(&0x13) && d.len() >= 4 && !tids.is_empty() {
            let tid = tids[rng.below(tids.len())].to_le_bytes();
            d[2] = tid[0];
            d[3] = tid[1];
            client.handle_datagram(SocketKind::Client, from, &d, now);
        } else {
            server.handle_datagram(SocketKind::Server, from, &d, now);
        }
        while let Some(ev) = server.poll_event() {
            if let Event::Request(req) = ev {
                server.reply(&req, Reply::value(req.value.clone()));
            }
        }
        while server.poll_transmit().is_some() {}
        while client.poll_event().is_some() {}
        while client.poll_transmit().is_some() {}
        if round % 1000 == 0 {
            now += Duration::from_millis(400);
            server.handle_timeout(now);
            client.handle_timeout(now);
        }
    }
    let s = server.stats();
    assert!(s.dropped > 1000, "malformed input counted: {s:?}");
    assert!(
        client.stats().responses > 0,
        "some mutated responses matched live requests"
    );

    // both still work: the server answers a clean ping with its id
    let ping = RequestFrame {
        tid: 77,
        to: me,
        id: None,
        token: None,
        internal: true,
        command: 0,
        target: None,
        value: None,
    }
    .encode();
    let from = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 1);
    assert!(server.handle_datagram(SocketKind::Server, from, &ping, now));
    let t = server.poll_transmit().expect("ping answered");
    match messages::decode(&t.data) {
        Some(Frame::Response(r)) => {
            assert_eq!(r.tid, 77);
            assert_eq!(r.id, server.id());
        }
        other => panic!("bad reply {other:?}"),
    }
}
