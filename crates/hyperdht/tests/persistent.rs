//! Storage-side validation and bounds (`lib/persistent.js` rules), driven directly.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_core::messages::{Announce, LookupReply, MutableGetResponse, MutablePutRequest, Peer};
use hyperdht_core::persistent::{Outcome, Persistent, StorageLimits};
use hyperdht_core::signing::{sign_announce, sign_mutable};
use hyperdht_core::Command;
use hyperdht_crypto::{hash, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, SocketKind};

const NODE_ID: [u8; 32] = [9u8; 32];
const TOKEN: [u8; 32] = [7u8; 32];

fn req(
    cmd: Command,
    target: [u8; 32],
    token: Option<[u8; 32]>,
    value: Option<Vec<u8>>,
) -> IncomingRequest {
    IncomingRequest {
        tid: 1,
        from: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000),
        from_id: None,
        to: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 49737),
        token,
        internal: false,
        command: cmd.code(),
        target: Some(target),
        value,
        socket: SocketKind::Server,
    }
}

fn store() -> Persistent {
    Persistent::new(
        StorageLimits::from_options(None, None),
        Instant::now(),
        wall(),
    )
}

fn announce_value(kp: &KeyPair, topic: &[u8; 32], relays: Vec<SocketAddrV4>) -> Vec<u8> {
    let peer = Peer {
        public_key: kp.public_key,
        relay_addresses: relays,
    };
    let sig = sign_announce(kp, topic, &NODE_ID, &TOKEN, &peer, None);
    Announce {
        peer: Some(peer),
        refresh: None,
        signature: Some(sig),
        bump: 0,
    }
    .to_bytes()
}

fn lookup_peers(s: &mut Persistent, topic: [u8; 32]) -> Vec<Peer> {
    match s.on_request(
        &req(Command::Lookup, topic, None, None),
        Some(NODE_ID),
        Instant::now(),
    ) {
        Outcome::Reply(r) => r
            .value
            .map(|v| LookupReply::from_bytes(&v).unwrap().peers)
            .unwrap_or_default(),
        o => panic!("unexpected {o:?}"),
    }
}

#[test]
fn announce_verified_truncated_and_forgeries_dropped() {
    let mut s = store();
    let kp = KeyPair::generate();
    let topic = hash(b"topic");
    let relays: Vec<SocketAddrV4> = (1..=5)
        .map(|i| SocketAddrV4::new(Ipv4Addr::new(1, 1, 1, i), 1000))
        .collect();
    let v = announce_value(&kp, &topic, relays.clone());
    let now = Instant::now();

    // no token / wrong node id / tampered signature / other key: silently dropped
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, None, Some(v.clone())),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, Some(TOKEN), Some(v.clone())),
            Some([1u8; 32]),
            now
        ),
        Outcome::Drop
    );
    let mut forged = v.clone();
    let n = forged.len();
    forged[n - 5] ^= 1;
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, Some(TOKEN), Some(forged)),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, Some([8u8; 32]), Some(v.clone())),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, Some(TOKEN), Some(vec![0xff; 3])),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert!(lookup_peers(&mut s, topic).is_empty());
    // ephemeral nodes do not store
    assert_eq!(
        s.on_request(
            &req(Command::Announce, topic, Some(TOKEN), Some(v.clone())),
            None,
            now
        ),
        Outcome::Unhandled
    );

    // the genuine one is stored with at most 3 relays, reply carries no token / closer nodes
    match s.on_request(
        &req(Command::Announce, topic, Some(TOKEN), Some(v)),
        Some(NODE_ID),
        now,
    ) {
        Outcome::Reply(r) => assert!(!r.token && !r.closer_nodes && r.value.is_none()),
        o => panic!("{o:?}"),
    }
    let peers = lookup_peers(&mut s, topic);
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].relay_addresses, relays[..3].to_vec());
}

#[test]
fn mutable_seq_rules() {
    let mut s = store();
    let kp = KeyPair::generate();
    let target = hash(&kp.public_key);
    let now = Instant::now();
    let put = |seq: u64, value: &[u8]| {
        let signature = sign_mutable(&kp, seq, value);
        MutablePutRequest {
            public_key: kp.public_key,
            seq,
            value: value.to_vec(),
            signature,
        }
        .to_bytes()
    };
    let ok = s.on_request(
        &req(
            Command::MutablePut,
            target,
            Some(TOKEN),
            Some(put(2, b"two")),
        ),
        Some(NODE_ID),
        now,
    );
    assert!(matches!(ok, Outcome::Reply(ref r) if r.error == 0));
    let reused = s.on_request(
        &req(
            Command::MutablePut,
            target,
            Some(TOKEN),
            Some(put(2, b"other")),
        ),
        Some(NODE_ID),
        now,
    );
    assert!(matches!(reused, Outcome::Reply(ref r) if r.error == 16 && !r.token));
    let low = s.on_request(
        &req(
            Command::MutablePut,
            target,
            Some(TOKEN),
            Some(put(1, b"one")),
        ),
        Some(NODE_ID),
        now,
    );
    assert!(matches!(low, Outcome::Reply(ref r) if r.error == 17));
    // bad signature / wrong target: dropped
    let mut bad = put(3, b"three");
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        s.on_request(
            &req(Command::MutablePut, target, Some(TOKEN), Some(bad)),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert_eq!(
        s.on_request(
            &req(
                Command::MutablePut,
                [0u8; 32],
                Some(TOKEN),
                Some(put(3, b"x"))
            ),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    // GET needs a seq value; returns the stored record when seq >= requested
    assert_eq!(
        s.on_request(
            &req(Command::MutableGet, target, None, None),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    match s.on_request(
        &req(Command::MutableGet, target, None, Some(vec![0])),
        Some(NODE_ID),
        now,
    ) {
        Outcome::Reply(r) => {
            let m = MutableGetResponse::from_bytes(&r.value.unwrap()).unwrap();
            assert_eq!((m.seq, m.value.as_slice()), (2, &b"two"[..]));
        }
        o => panic!("{o:?}"),
    }
    match s.on_request(
        &req(Command::MutableGet, target, None, Some(vec![3])),
        Some(NODE_ID),
        now,
    ) {
        Outcome::Reply(r) => assert!(r.value.is_none()),
        o => panic!("{o:?}"),
    }
}

#[test]
fn immutable_hash_checked() {
    let mut s = store();
    let v = b"hello".to_vec();
    let now = Instant::now();
    assert_eq!(
        s.on_request(
            &req(
                Command::ImmutablePut,
                [0u8; 32],
                Some(TOKEN),
                Some(v.clone())
            ),
            Some(NODE_ID),
            now
        ),
        Outcome::Drop
    );
    assert!(matches!(
        s.on_request(
            &req(
                Command::ImmutablePut,
                hash(&v),
                Some(TOKEN),
                Some(v.clone())
            ),
            Some(NODE_ID),
            now
        ),
        Outcome::Reply(_)
    ));
    match s.on_request(
        &req(Command::ImmutableGet, hash(&v), None, None),
        Some(NODE_ID),
        now,
    ) {
        Outcome::Reply(r) => assert_eq!(r.value, Some(v)),
        o => panic!("{o:?}"),
    }
}

#[test]
fn caches_stay_bounded_under_a_flood_of_100k_announces() {
    let limits = StorageLimits::from_options(Some(1024), Some(Duration::from_secs(1200)));
    let mut s = Persistent::new(limits, Instant::now(), wall());
    let kp = KeyPair::generate();
    let now = Instant::now();
    for i in 0..100_000u32 {
        let mut topic = [0u8; 32];
        topic[..4].copy_from_slice(&i.to_le_bytes());
        // a valid announce per topic (signature bound to topic, node id and token)
        let v = announce_value(&kp, &topic, vec![]);
        let r = s.on_request(
            &req(Command::Announce, topic, Some(TOKEN), Some(v)),
            Some(NODE_ID),
            now,
        );
        assert!(matches!(r, Outcome::Reply(_)));
        assert!(
            s.records_len() <= 2 * 1024 + 1,
            "records bounded: {}",
            s.records_len()
        );
    }
    assert!(s.records_len() > 0);
    // immutables / mutables bounded by maxSize/2 per generation
    for i in 0..20_000u32 {
        let v = i.to_le_bytes().to_vec();
        s.on_request(
            &req(Command::ImmutablePut, hash(&v), Some(TOKEN), Some(v)),
            Some(NODE_ID),
            now,
        );
        assert!(s.immutables_len() <= 1024);
    }
}

#[test]
fn random_values_never_panic() {
    let mut s = store();
    let mut x: u64 = 88172645463325252;
    let now = Instant::now();
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 200) as usize;
        let v: Vec<u8> = (0..len).map(|j| (x >> (j % 8 * 8)) as u8).collect();
        let cmd = Command::from_code((i % 10) as u64).unwrap();
        let _ = s.on_request(
            &req(cmd, hash(&v), Some(TOKEN), Some(v)),
            Some(NODE_ID),
            now,
        );
    }
}

/// The wall clock now (bumps are `Date.now()` values).
fn wall() -> hyperdht_core::persistent::WallClock {
    hyperdht_core::persistent::WallClock {
        at: Instant::now(),
        unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    }
}
