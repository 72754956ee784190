//! `NativeQuery`: the native half of a query stream (lib/query.js, shaped like dht-rpc's
//! lib/query.js), owned by one JS `Query`. `dht.query(spec, onEvent)` starts the whole operation
//! in Rust (src/ops.rs) as one supervised task; its `reply` events, then one `end` (closest
//! replies, an error, a result), go to that query's callback, whose ThreadsafeFunction is released
//! with the `end` (or by `cancel()`). A panic in the task ends the query with DRIVER_FAILED.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use hyperdht_core::{AnnounceOptions, QueryOptions};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::QueryParams;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::task::AbortHandle;

use crate::dht::{parse_addr, reason, JsKeyPairArg, NativeDht};
use crate::events::{JsReply, JsResult, Sink};
use crate::live::Live;
use crate::ops;
use crate::supervise::{spawn_supervised, Tripwire};

const TASK_PANICKED: &str = "DRIVER_FAILED: query task panicked";

/// Query parameters from index.js (`_startQuery`).
#[napi(object)]
pub struct JsQuerySpec {
    pub kind: String,
    pub target: Buffer,
    pub command: Option<u32>,
    pub value: Option<Buffer>,
    pub concurrency: Option<u32>,
    pub nodes: Option<Vec<String>>,
    /// dht-rpc `onlyClosestNodes`: ask only `nodes`
    pub only_closest_nodes: Option<bool>,
    /// dht-rpc `force`: no congestion window, no retries
    pub force: Option<bool>,
    pub key_pair: Option<JsKeyPairArg>,
    pub relay_addresses: Option<Vec<String>>,
    pub bump: Option<f64>,
    pub clear: Option<bool>,
    pub seq: Option<f64>,
    pub public_key: Option<Buffer>,
    /// mutablePut with a signature computed in JS (non-custodial)
    pub signature: Option<Buffer>,
}

/// Events of one query. (A reply is large, the end small: each event is moved once, into the
/// ThreadsafeFunction's queue, and napi has no `Box` conversion to shrink it.)
#[allow(clippy::large_enum_variant)]
#[napi(
    discriminant = "type",
    discriminant_case = "kebab-case",
    object_from_js = false
)]
pub enum JsQueryEvent {
    /// one reply (only those the query kind keeps)
    Reply { reply: JsReply },
    /// the last event: the closest replies, or the error the query failed with
    End {
        closest: Option<Vec<JsReply>>,
        error: Option<String>,
        result: Option<JsResult>,
    },
}

pub(crate) type QuerySink = Sink<JsQueryEvent>;

pub(crate) type Queries = Arc<Live<QueryCore>>;

pub(crate) struct QueryCore {
    id: u64,
    queries: Weak<Live<QueryCore>>,
    sink: QuerySink,
    task: Mutex<Option<AbortHandle>>,
    trip: Tripwire,
}

impl QueryCore {
    fn task(&self) -> MutexGuard<'_, Option<AbortHandle>> {
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unregister(&self) {
        if let Some(q) = self.queries.upgrade() {
            q.remove(self.id);
        }
    }

    /// Stops the query: no more events (JS destroyed the stream, or the node is going away).
    pub(crate) fn cancel(&self) {
        if let Some(t) = self.task().take() {
            t.abort();
        }
        self.sink.close();
        self.unregister();
    }
}

#[napi]
pub struct NativeQuery {
    core: Arc<QueryCore>,
}

#[napi]
impl NativeQuery {
    /// The JS stream was destroyed: the query stops, nothing more is emitted.
    #[napi(catch_unwind)]
    pub fn cancel(&self) {
        self.core.cancel();
    }

    /// Test hook (`query._injectPanic()`): the query's task panics, as a bug in it would.
    #[napi(catch_unwind)]
    pub fn inject_panic(&self) {
        self.core.trip.trip();
    }
}

fn key_pair_of_spec(spec: &JsQuerySpec) -> Result<KeyPair> {
    let kp = spec
        .key_pair
        .as_ref()
        .ok_or_else(|| Error::new(Status::InvalidArg, "keyPair is required"))?;
    crate::dht::key_pair_of(kp)
}

fn u64_of(v: Option<f64>) -> u64 {
    v.filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x as u64)
        .unwrap_or(0)
}

/// The engine job a spec asks for.
fn job_of(spec: &JsQuerySpec) -> Result<ops::Job> {
    let target: [u8; 32] = spec
        .target
        .as_ref()
        .try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "target must be 32 bytes"))?;
    let nodes = match &spec.nodes {
        Some(n) => n
            .iter()
            .map(|s| parse_addr(s))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let concurrency = spec.concurrency.map(|c| c.max(1) as usize);
    let only_closest_nodes = spec.only_closest_nodes.unwrap_or(false);
    let force = spec.force.unwrap_or(false);
    let o = QueryOptions {
        nodes: nodes.clone(),
        concurrency,
        only_closest_nodes,
        force,
    };
    let key_pair = || key_pair_of_spec(spec);
    Ok(match spec.kind.as_str() {
        "findNode" | "query" => {
            let (command, internal) = if spec.kind == "findNode" {
                (hyperdht_rpc::Command::FindNode.code(), true)
            } else {
                (spec.command.unwrap_or(0) as u64, false)
            };
            ops::Job::Raw(QueryParams {
                target,
                command,
                internal,
                value: spec.value.as_ref().map(|v| v.to_vec()),
                concurrency,
                nodes,
                only_closest_nodes,
                force,
            })
        }
        "lookup" => ops::Job::Lookup { topic: target, o },
        "findPeer" => ops::Job::FindPeer { target, o },
        "announce" => {
            let relays = match &spec.relay_addresses {
                Some(r) => r
                    .iter()
                    .map(|s| parse_addr(s))
                    .collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            let a = AnnounceOptions {
                relays,
                bump: u64_of(spec.bump),
                clear: spec.clear.unwrap_or(false),
            };
            ops::Job::Announce {
                topic: target,
                kp: key_pair()?,
                a,
                o,
            }
        }
        "lookupAndUnannounce" => ops::Job::LookupAndUnannounce {
            topic: target,
            kp: key_pair()?,
            o,
        },
        "immutablePut" => {
            let value = spec.value.as_ref().map(|v| v.to_vec()).unwrap_or_default();
            ops::Job::ImmutablePut { value, o }
        }
        "immutableGet" => ops::Job::ImmutableGet { target, o },
        "mutablePut" => {
            let value = spec.value.as_ref().map(|v| v.to_vec()).unwrap_or_default();
            let seq = u64_of(spec.seq);
            match (&spec.signature, &spec.key_pair) {
                (Some(sig), Some(kp)) => ops::Job::MutablePutSigned {
                    public_key: kp.public_key.as_ref().try_into().map_err(|_| {
                        Error::new(Status::InvalidArg, "publicKey must be 32 bytes")
                    })?,
                    value,
                    seq,
                    signature: sig.as_ref().try_into().map_err(|_| {
                        Error::new(Status::InvalidArg, "signature must be 64 bytes")
                    })?,
                    o,
                },
                _ => ops::Job::MutablePut {
                    kp: key_pair()?,
                    value,
                    seq,
                    o,
                },
            }
        }
        "mutableGet" => {
            let pk: [u8; 32] = spec
                .public_key
                .as_ref()
                .and_then(|p| p.as_ref().try_into().ok())
                .ok_or_else(|| Error::new(Status::InvalidArg, "publicKey must be 32 bytes"))?;
            ops::Job::MutableGet {
                public_key: pk,
                seq: u64_of(spec.seq),
                o,
            }
        }
        other => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("unknown query kind {other}"),
            ))
        }
    })
}

#[napi]
impl NativeDht {
    /// Starts a query whose events go to `onEvent`: `reply`s, then one `end`.
    #[napi(catch_unwind)]
    pub fn query(
        &self,
        spec: JsQuerySpec,
        on_event: Function<JsQueryEvent, ()>,
    ) -> Result<NativeQuery> {
        let job = job_of(&spec)?;
        let sink = Sink::new(on_event)?;
        let mut sink = Some(sink);
        let core = self.queries.insert(|id| {
            Arc::new(QueryCore {
                id,
                queries: Arc::downgrade(&self.queries),
                sink: sink.take().expect("once"),
                task: Mutex::new(None),
                trip: Tripwire::default(),
            })
        });
        let Some(core) = core else {
            // a destroyed node: the query ends at once, like dht-rpc's
            let sink = sink.take().expect("not taken");
            sink.emit_last(JsQueryEvent::End {
                closest: None,
                error: Some("NODE_DESTROYED: Node destroyed".to_string()),
                result: None,
            });
            return Err(reason("NODE_DESTROYED: Node destroyed"));
        };
        let hyper = self.hyper.clone();
        let task_core = core.clone();
        let fut = async move {
            tokio::select! {
                _ = ops::run(hyper, job, &task_core.sink) => {}
                _ = task_core.trip.armed() => {}
            }
            task_core.unregister();
        };
        let panic_core = core.clone();
        let on_panic = move |_msg: String| {
            panic_core.sink.emit_last(JsQueryEvent::End {
                closest: None,
                error: Some(TASK_PANICKED.to_string()),
                result: None,
            });
            panic_core.unregister();
        };
        // first polled here: the query's first requests leave now
        let handle = spawn_supervised(fut, on_panic, true);
        *core.task() = handle;
        Ok(NativeQuery { core })
    }
}
