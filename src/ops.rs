//! Query jobs run on the tokio runtime on behalf of a JS query stream.

use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::{Dht, QueryParams};

use crate::dht::{forward, Sink};

pub(crate) enum Job {
    /// A plain dht-rpc query (`findNode`, `query`).
    Raw(QueryParams),
}

pub(crate) async fn run(dht: Dht, job: Job, qid: u32, sink: &Sink) {
    match job {
        Job::Raw(p) => {
            let mut q = dht.query(p);
            while let Some(ev) = q.next().await {
                let done = matches!(ev, QueryEvent::Done { .. });
                forward(sink, qid, ev);
                if done {
                    break;
                }
            }
        }
    }
}
