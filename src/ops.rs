//! Query jobs run on the tokio runtime on behalf of a JS query stream (src/query.rs): the whole
//! operation (query + commit) runs in Rust; replies are shaped for lib/replies.js `mapReply` and
//! sent as the query's own events, then one `end`.

use std::net::SocketAddrV4;

use hyperdht_core::messages::{LookupReply, Peer};
use hyperdht_core::{AnnounceOptions, HyperDht, QueryOptions};
use hyperdht_crypto::KeyPair;
use hyperdht_encoding::Codec;
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::{QueryParams, Response, RpcError};

use crate::dht::{addr_js, js_reply};
use crate::events::{JsPeer, JsReply, JsResult};
use crate::query::{JsQueryEvent, QuerySink};

pub(crate) enum Job {
    /// A plain dht-rpc query (`findNode`, `query`).
    Raw(QueryParams),
    Lookup {
        topic: [u8; 32],
        o: QueryOptions,
    },
    FindPeer {
        target: [u8; 32],
        o: QueryOptions,
    },
    Announce {
        topic: [u8; 32],
        kp: KeyPair,
        a: AnnounceOptions,
        o: QueryOptions,
    },
    LookupAndUnannounce {
        topic: [u8; 32],
        kp: KeyPair,
        o: QueryOptions,
    },
    ImmutablePut {
        value: Vec<u8>,
        o: QueryOptions,
    },
    ImmutableGet {
        target: [u8; 32],
        o: QueryOptions,
    },
    MutablePut {
        kp: KeyPair,
        value: Vec<u8>,
        seq: u64,
        o: QueryOptions,
    },
    MutablePutSigned {
        public_key: [u8; 32],
        value: Vec<u8>,
        seq: u64,
        signature: [u8; 64],
        o: QueryOptions,
    },
    MutableGet {
        public_key: [u8; 32],
        seq: u64,
        o: QueryOptions,
    },
}

fn js_peer(p: &Peer) -> JsPeer {
    JsPeer {
        public_key: p.public_key.to_vec().into(),
        relay_addresses: p
            .relay_addresses
            .iter()
            .map(|a: &SocketAddrV4| addr_js(*a))
            .collect(),
    }
}

fn lookup_reply(r: &Response) -> JsReply {
    let mut j = js_reply(r);
    if let Some(l) = r
        .value
        .as_ref()
        .and_then(|v| LookupReply::from_bytes(v).ok())
    {
        j.peers = Some(l.peers.iter().map(js_peer).collect());
        j.bump = Some(l.bump as f64);
    }
    j
}

fn find_peer_reply(r: &Response) -> JsReply {
    let mut j = js_reply(r);
    j.peer = r
        .value
        .as_ref()
        .and_then(|v| Peer::from_bytes(v).ok())
        .map(|p| js_peer(&p));
    j
}

/// Replies of a lookup/announce/findPeer query: all cross into JS, which keeps the closest as
/// they arrive (dht-rpc `closestReplies`) and yields those hyperdht's map keeps (a decodable
/// peer list / peer record); all are counted for the query's `successes`.
#[derive(Default)]
struct Replies {
    successes: u32,
}

impl Replies {
    fn emit(&mut self, sink: &QuerySink, reply: JsReply) {
        self.successes += 1;
        reply_event(sink, reply);
    }

    fn result(&self) -> Option<JsResult> {
        Some(JsResult {
            successes: Some(self.successes),
            ..JsResult::default()
        })
    }
}

fn reply_event(sink: &QuerySink, reply: JsReply) {
    sink.emit(JsQueryEvent::Reply { reply });
}

/// The query's last event.
fn end_event(sink: &QuerySink, closest: Result<Vec<Response>, RpcError>, result: Option<JsResult>) {
    let (closest, error) = match closest {
        Ok(c) => (Some(c.iter().map(js_reply).collect()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    sink.emit_last(JsQueryEvent::End {
        closest,
        error,
        result,
    });
}

fn mutable_put_end(sink: &QuerySink, res: Result<(Vec<Response>, [u8; 64]), RpcError>) {
    match res {
        Ok((closest, sig)) => end_event(
            sink,
            Ok(closest),
            Some(JsResult {
                signature: Some(sig.to_vec().into()),
                ..JsResult::default()
            }),
        ),
        Err(e) => end_event(sink, Err(e), None),
    }
}

pub(crate) async fn run(dht: HyperDht, job: Job, sink: &QuerySink) {
    match job {
        Job::Raw(p) => {
            let mut q = dht.rpc.query(p);
            while let Some(ev) = q.next().await {
                match ev {
                    QueryEvent::Reply(r) => reply_event(sink, js_reply(&r)),
                    QueryEvent::Done { closest, error } => {
                        let res = match error {
                            Some(e) => Err(e),
                            None => Ok(closest),
                        };
                        end_event(sink, res, None);
                        break;
                    }
                }
            }
        }
        Job::Lookup { topic, o } => {
            let mut n = Replies::default();
            let res = dht
                .lookup(topic, &o, |r| n.emit(sink, lookup_reply(r)))
                .await;
            end_event(sink, res, n.result());
        }
        Job::FindPeer { target, o } => {
            let mut n = Replies::default();
            let res = dht
                .find_peer(target, &o, |r| n.emit(sink, find_peer_reply(r)))
                .await;
            end_event(sink, res, n.result());
        }
        Job::Announce { topic, kp, a, o } => {
            let mut n = Replies::default();
            let res = dht
                .announce(topic, &kp, a, &o, |r| n.emit(sink, lookup_reply(r)))
                .await;
            end_event(sink, res, n.result());
        }
        Job::LookupAndUnannounce { topic, kp, o } => {
            let mut n = Replies::default();
            let res = dht
                .lookup_and_unannounce(topic, &kp, &o, |r| n.emit(sink, lookup_reply(r)))
                .await;
            end_event(sink, res, n.result());
        }
        Job::ImmutablePut { value, o } => {
            let res = dht.immutable_put(&value, &o).await;
            end_event(sink, res, None);
        }
        Job::ImmutableGet { target, o } => {
            // the query stops at the first value (hyperdht returns there too)
            match dht.immutable_get(target, &o).await {
                Ok(found) => {
                    if let Some(r) = found {
                        reply_event(sink, js_reply(&r));
                    }
                    end_event(sink, Ok(Vec::new()), None);
                }
                Err(e) => end_event(sink, Err(e), None),
            }
        }
        Job::MutablePut { kp, value, seq, o } => {
            let res = dht.mutable_put(&kp, &value, seq, &o).await;
            mutable_put_end(sink, res);
        }
        Job::MutablePutSigned {
            public_key,
            value,
            seq,
            signature,
            o,
        } => {
            let res = dht
                .mutable_put_signed(public_key, &value, seq, signature, &o)
                .await;
            mutable_put_end(sink, res);
        }
        Job::MutableGet { public_key, seq, o } => {
            let res = dht
                .mutable_get(public_key, seq, &o, |r, m| {
                    let mut j = js_reply(r);
                    j.seq = Some(m.seq as f64);
                    j.value = Some(m.value.clone().into());
                    j.signature = Some(m.signature.to_vec().into());
                    reply_event(sink, j)
                })
                .await;
            end_event(sink, res, None);
        }
    }
}
