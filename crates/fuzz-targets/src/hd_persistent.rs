//! The storage role (`hyperdht lib/persistent.js` via `hyperdht_core::persistent::Persistent`):
//! a store with small, input-chosen cache limits fed a sequence of [`Op`]s — raw requests with
//! arbitrary values, and well-formed, properly signed ANNOUNCE / UNANNOUNCE / refresh /
//! MUTABLE_PUT / IMMUTABLE_PUT requests (or wrongly signed ones) from a few key pairs, lookups
//! and clock moves.
//!
//! Checked: no panic; every cache stays within its size bound (two generations of
//! `max_size`); replies decode (`lookupRawReply` with at most 20 + 1 records of at most 3 relay
//! addresses, `mutableGetResponse`); a stored value is readable right after a successful put;
//! a record is gone from lookups right after its valid unannounce; badly signed requests never
//! get a success reply.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use hyperdht_core::messages::{Announce, LookupReply, MutableGetResponse, MutablePutRequest, Peer};
use hyperdht_core::persistent::{Outcome, Persistent, StorageLimits};
use hyperdht_core::signing::{sign_announce, sign_mutable, sign_unannounce};
use hyperdht_core::Command;
use hyperdht_crypto::{hash, KeyPair};
use hyperdht_encoding::{Codec, Writer};
use hyperdht_rpc::node::{IncomingRequest, SocketKind};

use crate::ops::Ops;

#[derive(Arbitrary, Debug, PartialEq)]
pub struct Setup {
    pub max_size: u8,
    pub max_age_secs: u16,
    pub ephemeral: bool,
}

#[derive(Arbitrary, Debug, PartialEq)]
pub enum Op {
    /// Any command with an arbitrary value (`len` input bytes).
    Raw {
        command: u8,
        target: Option<u8>,
        token: bool,
        value: bool,
        len: u16,
    },
    Announce {
        key: u8,
        topic: u8,
        self_topic: bool,
        relays: u8,
        refresh: Option<u8>,
        bump: u32,
        token: u8,
        unannounce: bool,
        bad_sig: bool,
    },
    /// A refresh-only announce presenting refresh secret `secret` (announces carry its hash).
    Refresh {
        secret: u8,
        topic: u8,
        self_key: Option<u8>,
    },
    MutablePut {
        key: u8,
        seq: u16,
        len: u8,
        wrong_target: bool,
        bad_sig: bool,
    },
    MutableGet {
        key: u8,
        seq: u16,
    },
    ImmutablePut {
        len: u8,
        wrong_target: bool,
    },
    ImmutableGet {
        target: u8,
    },
    Lookup {
        topic: u8,
        self_key: Option<u8>,
    },
    FindPeer {
        key: u8,
    },
    Unlink {
        topic: u8,
        key: u8,
    },
    Advance {
        secs: u16,
    },
}

pub const OP_COUNT: u32 = 11;
pub const OP_RAW: u32 = 0;

const MAX_OPS: usize = 600;
const KEYS: usize = 3;

fn key_pairs() -> Vec<KeyPair> {
    (0..KEYS as u8)
        .map(|i| KeyPair::from_seed(&[i + 1; 32]))
        .collect()
}

fn topic(t: u8) -> [u8; 32] {
    [t % 8; 32]
}

struct Harness {
    store: Persistent,
    keys: Vec<KeyPair>,
    node_id: [u8; 32],
    now: Instant,
    limits: StorageLimits,
    immutables: Vec<([u8; 32], Vec<u8>)>,
}

fn request(
    command: Command,
    target: [u8; 32],
    token: Option<[u8; 32]>,
    value: Vec<u8>,
) -> IncomingRequest {
    IncomingRequest {
        tid: 7,
        from: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 49737),
        from_id: None,
        to: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 49737),
        token,
        internal: false,
        command: command.code(),
        target: Some(target),
        value: Some(value),
        socket: SocketKind::Server,
    }
}

fn success(o: &Outcome) -> bool {
    matches!(o, Outcome::Reply(r) if r.error == 0)
}

impl Harness {
    fn call(&mut self, req: &IncomingRequest) -> Outcome {
        let o = self.store.on_request(req, Some(self.node_id), self.now);
        self.check_bounds();
        o
    }

    fn check_bounds(&self) {
        let m = self.limits.max_size;
        let half = (m / 2).max(1);
        assert!(self.store.records_len() <= 2 * m + 1, "records over bound");
        assert!(self.store.forwards_len() <= 2 * m, "forwards over bound");
        assert!(self.store.refreshes_len() <= 2 * m, "refreshes over bound");
        assert!(self.store.mutables_len() <= 2 * half, "mutables over bound");
        assert!(
            self.store.immutables_len() <= 2 * half,
            "immutables over bound"
        );
    }

    /// LOOKUP `target`: the decoded peers.
    fn lookup(&mut self, target: [u8; 32]) -> Vec<Peer> {
        let req = IncomingRequest {
            token: None,
            value: None,
            ..request(Command::Lookup, target, None, Vec::new())
        };
        let Outcome::Reply(r) = self.call(&req) else {
            panic!("LOOKUP with a target must be answered");
        };
        let Some(v) = r.value else {
            return Vec::new();
        };
        let l = LookupReply::from_bytes(&v).expect("lookup reply decodes");
        assert!(
            l.peers.len() <= 21,
            "{} records in one reply",
            l.peers.len()
        );
        for p in &l.peers {
            assert!(p.relay_addresses.len() <= 3);
        }
        l.peers
    }

    fn mutable_get(&mut self, target: [u8; 32], seq: u64) -> Option<MutableGetResponse> {
        let mut w = Writer::new();
        w.uint(seq);
        let req = request(Command::MutableGet, target, None, w.into_vec());
        let Outcome::Reply(r) = self.call(&req) else {
            panic!("MUTABLE_GET with target and value must be answered");
        };
        let v = r.value?;
        let got = MutableGetResponse::from_bytes(&v).expect("stored mutable decodes");
        assert!(got.seq >= seq);
        Some(got)
    }

    fn apply(&mut self, op: Op, ops: &mut Ops<'_>) {
        match op {
            Op::Raw {
                command,
                target,
                token,
                value,
                len,
            } => {
                let bytes = ops.bytes(usize::from(len) % 2048).to_vec();
                let req = IncomingRequest {
                    command: u64::from(command % 12),
                    target: target.map(topic),
                    token: token.then_some([9; 32]),
                    value: value.then_some(bytes),
                    ..request(Command::Announce, [0; 32], None, Vec::new())
                };
                let _ = self.call(&req);
            }
            Op::Announce {
                key,
                topic: t,
                self_topic,
                relays,
                refresh,
                bump,
                token,
                unannounce,
                bad_sig,
            } => {
                let kp = &self.keys[usize::from(key) % KEYS];
                let target = if self_topic {
                    hash(&kp.public_key)
                } else {
                    topic(t)
                };
                let token = [token; 32];
                let peer = Peer {
                    public_key: kp.public_key,
                    relay_addresses: (0..relays % 6)
                        .map(|i| SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, i), 4000))
                        .collect(),
                };
                let refresh = refresh.map(|r| hash(&[r; 32]));
                let mut sig = if unannounce {
                    sign_unannounce(kp, &target, &self.node_id, &token, &peer, refresh.as_ref())
                } else {
                    sign_announce(kp, &target, &self.node_id, &token, &peer, refresh.as_ref())
                };
                if bad_sig {
                    sig[0] ^= 1;
                }
                let pk = peer.public_key;
                let ann = Announce {
                    peer: Some(peer),
                    refresh,
                    signature: Some(sig),
                    bump: u64::from(bump),
                };
                let cmd = if unannounce {
                    Command::Unannounce
                } else {
                    Command::Announce
                };
                let o = self.call(&request(cmd, target, Some(token), ann.to_bytes()));
                if bad_sig {
                    assert!(!success(&o), "a badly signed (un)announce succeeded");
                    return;
                }
                assert!(success(&o), "a valid (un)announce failed: {o:?}");
                let found = self.lookup(target).iter().any(|p| p.public_key == pk);
                if unannounce {
                    assert!(!found, "record still served after its unannounce");
                }
            }
            Op::Refresh {
                secret,
                topic: t,
                self_key,
            } => {
                let target = match self_key {
                    Some(k) => hash(&self.keys[usize::from(k) % KEYS].public_key),
                    None => topic(t),
                };
                let ann = Announce {
                    refresh: Some([secret; 32]),
                    ..Default::default()
                };
                let _ = self.call(&request(
                    Command::Announce,
                    target,
                    Some([0; 32]),
                    ann.to_bytes(),
                ));
            }
            Op::MutablePut {
                key,
                seq,
                len,
                wrong_target,
                bad_sig,
            } => {
                let kp = &self.keys[usize::from(key) % KEYS];
                let value = ops.bytes(usize::from(len)).to_vec();
                let seq = u64::from(seq % 8);
                let mut signature = sign_mutable(kp, seq, &value);
                if bad_sig {
                    signature[63] ^= 0x10;
                }
                let mut target = hash(&kp.public_key);
                if wrong_target {
                    target[0] ^= 1;
                }
                let put = MutablePutRequest {
                    public_key: kp.public_key,
                    seq,
                    value: value.clone(),
                    signature,
                };
                let o = self.call(&request(
                    Command::MutablePut,
                    target,
                    Some([1; 32]),
                    put.to_bytes(),
                ));
                if bad_sig || wrong_target {
                    assert!(!success(&o), "a bad mutable put succeeded");
                    return;
                }
                if success(&o) {
                    let got = self.mutable_get(target, seq).expect("value just stored");
                    assert_eq!((got.seq, &got.value), (seq, &value));
                }
            }
            Op::MutableGet { key, seq } => {
                let target = hash(&self.keys[usize::from(key) % KEYS].public_key);
                let _ = self.mutable_get(target, u64::from(seq % 10));
            }
            Op::ImmutablePut { len, wrong_target } => {
                let value = ops.bytes(usize::from(len)).to_vec();
                let mut target = hash(&value);
                if wrong_target {
                    target[31] ^= 1;
                }
                let o = self.call(&request(
                    Command::ImmutablePut,
                    target,
                    Some([2; 32]),
                    value.clone(),
                ));
                assert_eq!(success(&o), !wrong_target);
                if !wrong_target {
                    let got = self.call(&request(Command::ImmutableGet, target, None, Vec::new()));
                    assert!(
                        matches!(&got, Outcome::Reply(r) if r.value.as_ref() == Some(&value)),
                        "immutable value not readable right after its put"
                    );
                    if self.immutables.len() < 16 {
                        self.immutables.push((target, value));
                    }
                }
            }
            Op::ImmutableGet { target } => {
                let t = match self
                    .immutables
                    .get(usize::from(target) % self.immutables.len().max(1))
                {
                    Some((t, _)) => *t,
                    None => topic(target),
                };
                if let Outcome::Reply(r) =
                    self.call(&request(Command::ImmutableGet, t, None, Vec::new()))
                {
                    if let Some(v) = r.value {
                        assert_eq!(hash(&v), t, "immutable value does not hash to its key");
                    }
                }
            }
            Op::Lookup { topic: t, self_key } => {
                let target = match self_key {
                    Some(k) => hash(&self.keys[usize::from(k) % KEYS].public_key),
                    None => topic(t),
                };
                self.lookup(target);
            }
            Op::FindPeer { key } => {
                let pk = self.keys[usize::from(key) % KEYS].public_key;
                let o = self.call(&request(Command::FindPeer, hash(&pk), None, Vec::new()));
                if let Outcome::Reply(r) = o {
                    if let Some(v) = r.value {
                        let p = Peer::from_bytes(&v).expect("forward record decodes");
                        assert_eq!(p.public_key, pk, "FIND_PEER served another key's record");
                    }
                }
            }
            Op::Unlink { topic: t, key } => {
                let pk = self.keys[usize::from(key) % KEYS].public_key;
                self.store.unannounce(&topic(t), &pk);
                self.check_bounds();
            }
            Op::Advance { secs } => {
                self.now += Duration::from_secs(u64::from(secs));
            }
        }
    }
}

pub fn run(data: &[u8]) {
    let mut ops = Ops::new(data, MAX_OPS);
    let Some(setup) = ops.op::<Setup>() else {
        return;
    };
    let limits = StorageLimits::from_options(
        Some(usize::from(setup.max_size % 32) + 1),
        Some(Duration::from_secs(u64::from(setup.max_age_secs) + 1)),
    );
    let now = Instant::now();
    let mut h = Harness {
        store: Persistent::new(
            limits,
            now,
            hyperdht_core::persistent::WallClock {
                at: now,
                unix_ms: 1_700_000_000_000,
            },
        ),
        keys: key_pairs(),
        node_id: [0xd1; 32],
        now,
        limits,
        immutables: Vec::new(),
    };
    if setup.ephemeral {
        // an ephemeral node handles nothing
        let req = request(Command::ImmutableGet, [0; 32], None, Vec::new());
        assert_eq!(h.store.on_request(&req, None, now), Outcome::Unhandled);
    }
    while let Some(op) = ops.op::<Op>() {
        h.apply(op, &mut ops);
    }
}
