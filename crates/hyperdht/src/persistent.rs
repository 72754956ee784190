//! The storage role (`hyperdht lib/persistent.js`): FIND_PEER, LOOKUP, ANNOUNCE, UNANNOUNCE,
//! MUTABLE_PUT/GET, IMMUTABLE_PUT/GET with upstream's validation and silent drops. Pure logic:
//! a request and `now` in, an [`Outcome`] out.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use hyperdht_crypto::{hash, ns, verify};
use hyperdht_encoding::{Codec, Reader};
use hyperdht_rpc::messages::error_code;
use hyperdht_rpc::node::{IncomingRequest, Reply};

use crate::cache::{RecordCache, Xache};
use crate::messages::{Announce, LookupReply, MutableGetResponse, MutablePutRequest, Peer};
use crate::signing::{announce_signable, verify_mutable};
use crate::Command;

/// Bumps further than this into the future are ignored (`MAX_BUMP_DRIFT`).
const MAX_BUMP_DRIFT_MS: u64 = 60_000;
const MAX_RELAY_ADDRESSES: usize = 3;
const LOOKUP_RECORDS: usize = 20;

/// Cache sizes and ages (`hyperdht index.js: defaultCacheOpts`).
#[derive(Debug, Clone, Copy)]
pub struct StorageLimits {
    pub max_size: usize,
    pub max_age: Duration,
    /// Age of mutable/immutable values (`opts.maxAge` or 48 h).
    pub value_max_age: Duration,
}

impl StorageLimits {
    pub fn from_options(max_size: Option<usize>, max_age: Option<Duration>) -> Self {
        StorageLimits {
            max_size: max_size.filter(|s| *s > 0).unwrap_or(65536),
            max_age: max_age
                .filter(|a| !a.is_zero())
                .unwrap_or(Duration::from_secs(20 * 60)),
            value_max_age: max_age
                .filter(|a| !a.is_zero())
                .unwrap_or(Duration::from_secs(48 * 3600)),
        }
    }
}

/// A router forward (a server's self-announce, or a local listening server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub relay: Option<SocketAddrV4>,
    pub record: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Refresh {
    topic: [u8; 32],
    record: Vec<u8>,
    public_key: [u8; 32],
    announce_self: bool,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply(ReplySpec),
    /// No reply at all (upstream's silent drops).
    Drop,
    /// Not a storage command (or we are not persistent): the rpc layer answers UNKNOWN_COMMAND.
    Unhandled,
}

/// A reply in the shape of `req.reply` / `req.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySpec {
    pub value: Option<Vec<u8>>,
    pub error: u64,
    pub token: bool,
    pub closer_nodes: bool,
}

impl ReplySpec {
    fn value(v: Option<Vec<u8>>) -> Self {
        ReplySpec {
            value: v,
            error: 0,
            token: true,
            closer_nodes: true,
        }
    }
    fn bare() -> Self {
        ReplySpec {
            value: None,
            error: 0,
            token: false,
            closer_nodes: false,
        }
    }
    fn error(code: u64) -> Self {
        ReplySpec {
            value: None,
            error: code,
            token: false,
            closer_nodes: true,
        }
    }
    pub fn into_reply(self) -> Reply {
        Reply {
            value: self.value,
            error: self.error,
            token: self.token,
            closer_nodes: self.closer_nodes,
            to: None,
        }
    }
}

pub struct Persistent {
    records: RecordCache,
    bumps: Xache<[u8; 32], u64>,
    refreshes: Xache<[u8; 32], Refresh>,
    mutables: Xache<[u8; 32], Vec<u8>>,
    immutables: Xache<[u8; 32], Vec<u8>>,
    pub forwards: Xache<[u8; 32], Forward>,
    wall: WallClock,
}

/// Wall-clock time as an input: `unix_ms` was the Unix time in ms at `at` (announce bumps are
/// `Date.now()` values checked against our clock). Set by the driver; no clock is read here.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    pub at: Instant,
    pub unix_ms: u64,
}

impl WallClock {
    /// Unix time in ms at `now`.
    pub fn unix_ms_at(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.at).as_millis() as u64;
        self.unix_ms.saturating_add(d)
    }
}

impl Persistent {
    pub fn new(limits: StorageLimits, now: Instant, wall: WallClock) -> Self {
        let half = limits.max_size / 2;
        Persistent {
            records: RecordCache::new(limits.max_size, limits.max_age, now),
            bumps: Xache::new(limits.max_size, limits.max_age, now),
            refreshes: Xache::new(limits.max_size, limits.max_age, now),
            mutables: Xache::new(half, limits.value_max_age, now),
            immutables: Xache::new(half, limits.value_max_age, now),
            forwards: Xache::new(limits.max_size, limits.max_age, now),
            wall,
        }
    }

    pub fn records_len(&self) -> usize {
        self.records.len()
    }
    pub fn mutables_len(&self) -> usize {
        self.mutables.len()
    }
    pub fn immutables_len(&self) -> usize {
        self.immutables.len()
    }
    pub fn refreshes_len(&self) -> usize {
        self.refreshes.len()
    }
    pub fn forwards_len(&self) -> usize {
        self.forwards.len()
    }

    /// Removes our own record for `topic` (`lookupAndUnannounce` unlinks locally first).
    pub fn unannounce(&mut self, topic: &[u8; 32], public_key: &[u8; 32]) {
        if &hash(public_key) == topic {
            self.forwards.delete(topic);
        }
        self.records.remove(topic, public_key);
    }

    /// Handles a storage command. `node_id` is our id (None while ephemeral: then nothing is
    /// handled and the node answers UNKNOWN_COMMAND, like upstream).
    pub fn on_request(
        &mut self,
        req: &IncomingRequest,
        node_id: Option<[u8; 32]>,
        now: Instant,
    ) -> Outcome {
        let Some(cmd) = Command::from_code(req.command) else {
            return Outcome::Unhandled;
        };
        let Some(node_id) = node_id else {
            return Outcome::Unhandled;
        };
        match cmd {
            Command::FindPeer => self.on_find_peer(req, now),
            Command::Lookup => self.on_lookup(req, now),
            Command::Announce => self.on_announce(req, &node_id, now),
            Command::Unannounce => self.on_unannounce(req, &node_id),
            Command::MutablePut => self.on_mutable_put(req, now),
            Command::MutableGet => self.on_mutable_get(req, now),
            Command::ImmutablePut => self.on_immutable_put(req, now),
            Command::ImmutableGet => self.on_immutable_get(req, now),
            Command::PeerHandshake | Command::PeerHolepunch | Command::Plugin => Outcome::Unhandled,
        }
    }

    fn on_find_peer(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let Some(target) = req.target else {
            return Outcome::Drop;
        };
        let fwd = self.forwards.get(&target, now);
        Outcome::Reply(ReplySpec::value(fwd.map(|f| f.record)))
    }

    fn on_lookup(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let Some(target) = req.target else {
            return Outcome::Drop;
        };
        let mut records = self.records.get(&target, LOOKUP_RECORDS, now);
        if records.len() < LOOKUP_RECORDS {
            if let Some(f) = self.forwards.get(&target, now) {
                records.push(f.record);
            }
        }
        if records.is_empty() {
            return Outcome::Reply(ReplySpec::value(None));
        }
        let bump = self.bumps.get(&target, now).unwrap_or(0);
        let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        Outcome::Reply(ReplySpec::value(Some(LookupReply::encode_raw(&refs, bump))))
    }

    fn on_announce(&mut self, req: &IncomingRequest, node_id: &[u8; 32], now: Instant) -> Outcome {
        let (Some(target), Some(token), Some(value)) = (req.target, req.token, req.value.as_ref())
        else {
            return Outcome::Drop;
        };
        let Ok(ann) = Announce::from_bytes(value) else {
            return Outcome::Drop;
        };
        let Some(peer) = ann.peer.clone() else {
            return match ann.refresh {
                Some(r) => self.on_refresh(req, &target, &r, now),
                None => Outcome::Drop,
            };
        };
        let Some(sig) = ann.signature else {
            return Outcome::Drop;
        };
        let msg = announce_signable(
            ns::announce(),
            &target,
            node_id,
            &token,
            &peer,
            ann.refresh.as_ref(),
        );
        if !verify(&msg, &sig, &peer.public_key) {
            return Outcome::Drop;
        }
        let stored = Peer {
            public_key: peer.public_key,
            relay_addresses: peer
                .relay_addresses
                .iter()
                .take(MAX_RELAY_ADDRESSES)
                .copied()
                .collect(),
        };
        let record = stored.to_bytes();
        let announce_self = hash(&peer.public_key) == target;
        if announce_self {
            self.forwards.set(
                target,
                Forward {
                    relay: Some(req.from),
                    record: record.clone(),
                },
                now,
            );
            self.records.remove(&target, &peer.public_key);
        } else {
            if ann.bump > 0 {
                let prev = self.bumps.get(&target, now).unwrap_or(0);
                if ann.bump > prev && ann.bump <= self.wall.unix_ms_at(now) + MAX_BUMP_DRIFT_MS {
                    self.bumps.set(target, ann.bump, now);
                }
            }
            self.records
                .add(target, peer.public_key, record.clone(), now);
        }
        if let Some(r) = ann.refresh {
            self.refreshes.set(
                r,
                Refresh {
                    topic: target,
                    record,
                    public_key: peer.public_key,
                    announce_self,
                },
                now,
            );
        }
        Outcome::Reply(ReplySpec::bare())
    }

    fn on_refresh(
        &mut self,
        req: &IncomingRequest,
        target: &[u8; 32],
        r: &[u8; 32],
        now: Instant,
    ) -> Outcome {
        let key = hash(r);
        let Some(entry) = self.refreshes.get(&key, now) else {
            return Outcome::Drop;
        };
        if &entry.topic != target {
            return Outcome::Drop;
        }
        self.refreshes.delete(&key);
        if entry.announce_self {
            self.forwards.set(
                entry.topic,
                Forward {
                    relay: Some(req.from),
                    record: entry.record.clone(),
                },
                now,
            );
        } else {
            self.records
                .add(entry.topic, entry.public_key, entry.record.clone(), now);
        }
        self.refreshes.set(*r, entry, now);
        Outcome::Reply(ReplySpec::bare())
    }

    fn on_unannounce(&mut self, req: &IncomingRequest, node_id: &[u8; 32]) -> Outcome {
        let (Some(target), Some(token), Some(value)) = (req.target, req.token, req.value.as_ref())
        else {
            return Outcome::Drop;
        };
        let Ok(ann) = Announce::from_bytes(value) else {
            return Outcome::Drop;
        };
        let (Some(peer), Some(sig)) = (ann.peer, ann.signature) else {
            return Outcome::Drop;
        };
        let msg = announce_signable(
            ns::unannounce(),
            &target,
            node_id,
            &token,
            &peer,
            ann.refresh.as_ref(),
        );
        if !verify(&msg, &sig, &peer.public_key) {
            return Outcome::Drop;
        }
        self.unannounce(&target, &peer.public_key);
        Outcome::Reply(ReplySpec::bare())
    }

    fn on_mutable_put(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let (Some(target), Some(_), Some(value)) = (req.target, req.token, req.value.as_ref())
        else {
            return Outcome::Drop;
        };
        let Ok(p) = MutablePutRequest::from_bytes(value) else {
            return Outcome::Drop;
        };
        if hash(&p.public_key) != target {
            return Outcome::Drop;
        }
        if !verify_mutable(&p.signature, p.seq, &p.value, &p.public_key) {
            return Outcome::Drop;
        }
        if let Some(stored) = self.mutables.get(&target, now) {
            if let Ok(s) = MutableGetResponse::from_bytes(&stored) {
                if s.seq == p.seq && s.value != p.value {
                    return Outcome::Reply(ReplySpec::error(error_code::SEQ_REUSED));
                }
                if p.seq < s.seq {
                    return Outcome::Reply(ReplySpec::error(error_code::SEQ_TOO_LOW));
                }
            }
        }
        let stored = MutableGetResponse {
            seq: p.seq,
            value: p.value,
            signature: p.signature,
        };
        self.mutables.set(target, stored.to_bytes(), now);
        Outcome::Reply(ReplySpec::value(None))
    }

    fn on_mutable_get(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let (Some(target), Some(value)) = (req.target, req.value.as_ref()) else {
            return Outcome::Drop;
        };
        let Ok(seq) = Reader::new(value).uint() else {
            return Outcome::Drop;
        };
        let Some(stored) = self.mutables.get(&target, now) else {
            return Outcome::Reply(ReplySpec::value(None));
        };
        let ok = MutableGetResponse::from_bytes(&stored).is_ok_and(|s| s.seq >= seq);
        Outcome::Reply(ReplySpec::value(ok.then_some(stored)))
    }

    fn on_immutable_put(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let (Some(target), Some(_), Some(value)) = (req.target, req.token, req.value.as_ref())
        else {
            return Outcome::Drop;
        };
        if hash(value) != target {
            return Outcome::Drop;
        }
        self.immutables.set(target, value.clone(), now);
        Outcome::Reply(ReplySpec::value(None))
    }

    fn on_immutable_get(&mut self, req: &IncomingRequest, now: Instant) -> Outcome {
        let Some(target) = req.target else {
            return Outcome::Drop;
        };
        Outcome::Reply(ReplySpec::value(self.immutables.get(&target, now)))
    }
}
