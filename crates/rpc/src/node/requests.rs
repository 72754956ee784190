//! Single requests and their answers (`dht-rpc index.js` `request()`, `lib/session.js`, and
//! `Request.reply` / `error` / `relay` in `lib/io.js`): sending a request, sessions, and
//! replying to or relaying an incoming request.

use std::net::SocketAddrV4;
use std::time::Instant;

use super::{Event, IncomingRequest, Node, Owner, Reply, RequestSpec, SessionId, SocketKind};
use crate::error::RpcError;
use crate::messages::RequestFrame;
use crate::routing_table::K;

impl Node {
    /// Sends a request; the outcome arrives as [`Event::Response`] with `req`.
    /// While suspended it is made and times out as usual, its datagrams going nowhere (dht-rpc
    /// sends on the closed socket): a ping gets REQUEST_TIMEOUT.
    pub fn request(&mut self, req: u64, spec: RequestSpec, now: Instant) {
        if self.destroyed {
            self.events.push_back(Event::Response {
                req,
                result: Err(RpcError::Destroyed),
            });
            return;
        }
        self.send_request(spec, Owner::User(req), now);
    }

    /// Answers an application request (`req.reply` / `req.error`).
    pub fn reply(&mut self, req: &IncomingRequest, reply: Reply) {
        if self.destroyed {
            return;
        }
        let closer = if reply.closer_nodes {
            req.target
                .map(|t| self.closest_nodes(&t, K))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        self.send_reply(
            req.socket,
            req.tid,
            req.from,
            reply.to.unwrap_or(req.from),
            reply.error,
            reply.value,
            reply.token,
            closer,
        );
    }

    /// `req.reply(value, {socket})` / `req.error(code, {socket})`: answer from another of our
    /// sockets than the one the request arrived on.
    pub fn reply_on(&mut self, req: &IncomingRequest, reply: Reply, socket: SocketKind) {
        let mut r = req.clone();
        r.socket = socket;
        self.reply(&r, reply);
    }

    /// `req.relay(value, to)`: forwards the request to `to` with the same tid; its reply goes
    /// straight to the original requester.
    /// Like upstream it goes out on the socket the request arrived on.
    pub fn relay(&mut self, req: &IncomingRequest, value: Option<Vec<u8>>, to: SocketAddrV4) {
        self.relay_on(req, value, to, req.socket);
    }

    /// `req.relay(value, to, {socket})`.
    pub fn relay_on(
        &mut self,
        req: &IncomingRequest,
        value: Option<Vec<u8>>,
        to: SocketAddrV4,
        socket: SocketKind,
    ) {
        if self.destroyed {
            return;
        }
        let frame = RequestFrame {
            tid: req.tid,
            to,
            id: self.outgoing_id(socket),
            token: None,
            internal: req.internal,
            command: req.command,
            target: req.target,
            value,
        };
        self.push_out(socket, to, frame.encode(), None);
    }

    /// A new session id (`dht.session()`); pass it in [`RequestSpec::session`].
    pub fn session(&mut self) -> SessionId {
        let s = self.next_session;
        self.next_session += 1;
        s
    }

    /// `session.destroy()`: every in-flight request of the session fails with
    /// [`RpcError::RequestDestroyed`] and stops counting against the congestion window.
    pub fn destroy_session(&mut self, session: SessionId, now: Instant) {
        let tids: Vec<u16> = self
            .inflight
            .iter()
            .filter(|(_, r)| r.session == Some(session))
            .map(|(t, _)| *t)
            .collect();
        for tid in tids {
            if let Some(r) = self.inflight.remove(&tid) {
                self.queued.retain(|t| *t != tid);
                // upstream frees the slot twice (`Session.destroy` and `Request.destroy`)
                self.congestion.recv();
                self.congestion.recv();
                self.fail_owner(r, RpcError::RequestDestroyed, now);
            }
        }
    }
}
