//! `createHandshake` servers (`hyperdht lib/server.js`: `_addHandshake` with an app's handshake
//! object): message 1 goes to the app's object ([`ServerOut::NoiseRecv`]), then the firewall as
//! usual, then our payload goes to it for message 2 ([`ServerOut::NoiseSend`]). The handshake's
//! requests wait in its slot meanwhile, like for a firewall decision.

use hyperdht_encoding::Codec;
use hyperdht_rpc::node::IncomingRequest;

use super::handshakes::{routed_reply, PendingHandshake, SlotState, Stage, Waiter};
use super::{NodeView, Server, ServerOut, SlotKey};
use crate::core::{Ctx, Output};
use crate::messages::HandshakeMessage;
use crate::noise_payload::NoisePayload;
use crate::router::RouteAction;
use std::net::SocketAddrV4;

impl Server {
    /// `createHandshake`: a new handshake's message 1 goes to the app's handshake object (its
    /// requests wait in a slot keyed by the noise bytes, like a firewall decision).
    pub(super) fn ask_recv(
        &mut self,
        req: &IncomingRequest,
        msg: HandshakeMessage,
        ctx: &mut Ctx<'_>,
    ) -> RouteAction {
        let client_address = msg.peer_address.unwrap_or(req.from);
        let Some(id) = self.take_slot(&msg.noise, *client_address.ip(), ctx) else {
            return RouteAction::Drop;
        };
        let gen = self.slot_mut(id).map_or(0, |s| s.gen);
        ctx.out.push_back(Output::Server(ServerOut::NoiseRecv {
            key: self.key(id, gen),
            noise: msg.noise.clone(),
        }));
        let view = NodeView::of(ctx.node, ctx.local_addresses);
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Pending(PendingHandshake {
                waiters: vec![Waiter {
                    req: req.clone(),
                    msg,
                }],
                client_address,
                view,
                stage: Stage::Recv,
            });
        }
        RouteAction::Drop
    }

    /// Takes the slot's pending handshake if it waits at a stage `want` accepts.
    pub(super) fn take_pending(
        &mut self,
        key: SlotKey,
        want: fn(&Stage) -> bool,
    ) -> Option<PendingHandshake> {
        let slot = self.slot_of(key)?;
        match &slot.state {
            SlotState::Pending(p) if want(&p.stage) => {}
            _ => return None,
        }
        match std::mem::replace(&mut slot.state, SlotState::Dropped) {
            SlotState::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The app's handshake object read message 1 (`None`: it threw): on to the firewall, or
    /// straight to message 2.
    pub(crate) fn noise_received(
        &mut self,
        key: SlotKey,
        answer: Option<crate::noise_wrap::ServerRecv>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(p) = self.take_pending(key, |s| matches!(s, Stage::Recv)) else {
            return;
        };
        let read = answer.and_then(|a| {
            let client = NoisePayload::from_bytes(&a.payload).ok()?;
            Some((client, a.remote_public_key))
        });
        let Some((client, remote_pk)) = read.filter(|_| !self.suspended) else {
            self.drop_slot(key.slot, ctx.now);
            return;
        };
        let PendingHandshake {
            waiters,
            client_address,
            view,
            ..
        } = p;
        if !self.config.asks_app() {
            let relay = self.config.relay_through.resolve(None);
            self.ask_send(key.slot, client, client_address, waiters, view, relay, ctx);
            return;
        }
        self.ask_firewall(
            key.slot,
            None,
            client,
            remote_pk,
            client_address,
            waiters,
            view,
            ctx,
        );
    }

    /// `createHandshake`: our payload goes to the app's handshake object for message 2.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ask_send(
        &mut self,
        id: usize,
        client: NoisePayload,
        client_address: SocketAddrV4,
        waiters: Vec<Waiter>,
        view: NodeView,
        relay: Option<[u8; 32]>,
        ctx: &mut Ctx<'_>,
    ) {
        let (accepting, payload) = self.prepare(id, client, client_address, view.clone(), relay);
        let gen = self.slot_mut(id).map_or(0, |s| s.gen);
        ctx.out.push_back(Output::Server(ServerOut::NoiseSend {
            key: self.key(id, gen),
            payload: payload.to_bytes(),
        }));
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Pending(PendingHandshake {
                waiters,
                client_address,
                view,
                stage: Stage::Send(Box::new(accepting)),
            });
        }
    }

    /// The app's handshake object wrote message 2 (`None`: it threw): every waiting request is
    /// answered, and the connection goes on as with ours.
    pub(crate) fn noise_sent(
        &mut self,
        key: SlotKey,
        answer: Option<crate::noise_wrap::ServerSend>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(p) = self.take_pending(key, |s| matches!(s, Stage::Send(_))) else {
            return;
        };
        let (Some(answer), Stage::Send(accepting)) = (answer, p.stage) else {
            self.drop_slot(key.slot, ctx.now);
            return;
        };
        let first = &p.waiters[0];
        let ready = self.accept(
            key.slot,
            answer.noise,
            Some(answer.result),
            *accepting,
            &first.req,
            &first.msg,
            ctx,
        );
        if let Some(r) = ready {
            for w in &p.waiters {
                routed_reply(&w.req, &w.msg, &r).apply(&w.req, ctx.node);
            }
        }
    }
}
