//! Handles given out by [`Dht`]: running queries, sessions, deferred responders.

use std::net::SocketAddrV4;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Dht, QueryEvent};
use crate::error::RpcError;
use crate::messages::{Command, Response};
use crate::node::{IncomingRequest, Reply, RequestSpec};
use crate::query::QueryId;

/// A running query: replies then one `Done`. Dropping it cancels the query.
pub struct QueryHandle {
    pub(super) id: QueryId,
    pub(super) rx: mpsc::Receiver<QueryEvent>,
    pub(super) dht: Dht,
    pub(super) done: bool,
    pub(super) closest: Vec<Response>,
    pub(super) error: Option<RpcError>,
}

impl QueryHandle {
    pub fn id(&self) -> QueryId {
        self.id
    }

    pub async fn next(&mut self) -> Option<QueryEvent> {
        if self.done {
            return None;
        }
        let ev = self.rx.recv().await;
        match &ev {
            Some(QueryEvent::Done { closest, error }) => {
                self.done = true;
                self.closest = closest.clone();
                self.error = error.clone();
            }
            None => {
                self.done = true;
                self.error = Some(RpcError::Destroyed);
            }
            Some(QueryEvent::Reply(_)) => {}
        }
        ev
    }

    /// Whether the query has ended (after `next()` returned `Done` or `None`).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// `query.closestReplies` once done: up to k id-bearing successful replies, closest first.
    /// This is what a commit phase (hyperdht announce/put) sends its token-carrying requests to.
    pub fn closest_replies(&self) -> &[Response] {
        &self.closest
    }

    /// `query.closestNodes` once done.
    pub fn closest_nodes(&self) -> Vec<SocketAddrV4> {
        self.closest.iter().map(|r| r.from).collect()
    }

    /// The query error, if it ended with one.
    pub fn error(&self) -> Option<&RpcError> {
        self.error.as_ref()
    }

    /// Drains replies, returns the closest replies (or the query error).
    pub async fn finish(mut self) -> Result<Vec<Response>, RpcError> {
        while let Some(ev) = self.next().await {
            if let QueryEvent::Done { closest, error } = ev {
                return match error {
                    Some(e) => Err(e),
                    None => Ok(closest),
                };
            }
        }
        Err(RpcError::Destroyed)
    }
}

impl Drop for QueryHandle {
    fn drop(&mut self) {
        if !self.done {
            self.dht.cancel_query(self.id);
        }
    }
}

/// A group of requests cancelled together (`dht-rpc lib/session.js`).
#[derive(Clone)]
pub struct Session {
    pub(super) dht: Dht,
    pub(super) id: crate::node::SessionId,
}

impl Session {
    pub fn id(&self) -> crate::node::SessionId {
        self.id
    }
    /// `session.request(...)`.
    pub async fn request(&self, mut spec: RequestSpec) -> Result<Response, RpcError> {
        spec.session = Some(self.id);
        self.dht.request(spec).await
    }
    /// `session.ping(...)`.
    pub async fn ping(&self, to: SocketAddrV4) -> Result<Response, RpcError> {
        self.request(RequestSpec::new(to, true, Command::Ping.code()))
            .await
    }
    /// `session.destroy()`: in-flight requests fail with `RequestDestroyed`.
    pub fn destroy(&self) {
        let id = self.id;
        self.dht
            .with_node(|n| n.destroy_session(id, Instant::now().into_std()));
    }
}

/// Replies to a request later (kept by a handler doing async work).
pub struct Responder {
    pub(super) dht: Dht,
    pub(super) req: IncomingRequest,
}

impl Responder {
    pub fn new(dht: Dht, req: IncomingRequest) -> Self {
        Responder { dht, req }
    }
    /// The request being answered.
    pub fn request(&self) -> &IncomingRequest {
        &self.req
    }
    /// `req.reply(...)` / `req.error(...)`. Safe to call from anywhere, including inside the
    /// request handler (then it is sent right after the handler returns).
    pub fn reply(self, reply: Reply) {
        let req = self.req;
        self.dht.with_node_or_defer(move |n| n.reply(&req, reply));
    }
    /// `req.relay(value, to)`: forward with the same tid; the target answers the requester.
    pub fn relay(self, value: Option<Vec<u8>>, to: SocketAddrV4) {
        let req = self.req;
        self.dht
            .with_node_or_defer(move |n| n.relay(&req, value, to));
    }
    /// Drop the request without any answer (the requester will retry and time out).
    pub fn drop_silently(self) {}
}
