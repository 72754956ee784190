//! The driver half of client connects: what the engine keeps per connect (where its events go,
//! the app's veto and LAN-ping callables), executing [`ConnectOut`]s, and the UDX streams that
//! reusable-socket routes are tied to (their close is reported to the core, which keeps the
//! routes).

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_udx::socket::UdxStreamRef;
use tokio::sync::mpsc;

use super::engine::Engine;
use crate::core::connect::{ConnectError, ConnectOut, Established, StreamKey};
use crate::{HolepunchVeto, LanPing};

/// What a connect's façade hears from the engine (at most one of each, so a channel of
/// [`EVENTS`] never fills).
#[derive(Debug)]
pub(crate) enum ConnectEvent {
    /// The server may have a stream for us now (see `ConnectOut::Handshaken`).
    Handshaken {
        remote_id: u32,
        known: Option<SocketAddrV4>,
    },
    /// Accept the server's first packet as the stream's remote, report when connected.
    AcceptPassive {
        remote_id: u32,
    },
    /// Pair the stream through a blind relay (see `ConnectOut::Relay`).
    Relay {
        is_initiator: bool,
        public_key: [u8; 32],
        token: [u8; 32],
        result: Box<hyperdht_secret_stream::HandshakeResult>,
    },
    Done(Result<Established, ConnectError>),
}

/// Capacity of a connect's event channel.
pub(crate) const EVENTS: usize = 4;

/// The driver's side of one connect.
pub(crate) struct ConnectSink {
    pub events: mpsc::Sender<ConnectEvent>,
    pub veto: Option<HolepunchVeto>,
    pub lan_ping: Option<LanPing>,
    pub noise: Option<crate::noise_wrap::ClientNoise>,
}

/// Streams routes are tied to, watched for their close.
#[derive(Default)]
pub(crate) struct RouteStreams {
    refs: HashMap<StreamKey, UdxStreamRef>,
    next: StreamKey,
}

impl Engine {
    /// A fresh key for a stream a route may be tied to.
    pub(crate) fn stream_key(&mut self) -> StreamKey {
        self.route_streams.next += 1;
        self.route_streams.next
    }

    /// Watches `stream` (under `key`) so its close reaches the core's routes.
    pub(crate) fn watch_route_stream(&mut self, key: StreamKey, stream: UdxStreamRef) {
        self.route_streams.refs.insert(key, stream);
    }

    /// Reports the watched streams that closed since the last look (routes read their state
    /// when they are used or counted, so looking then is enough).
    pub(crate) fn sync_routes(&mut self, now: Instant) {
        let core = &mut self.core;
        self.route_streams.refs.retain(|key, r| {
            let open = r.is_open();
            if !open {
                core.route_stream_closed(*key, now);
            }
            open
        });
    }

    fn connect_event(&mut self, id: u64, ev: ConnectEvent) {
        if let Some(s) = self.connect_sinks.get(&id) {
            let _ = s.events.try_send(ev);
        }
    }

    /// Executes what a connect asked for.
    pub(crate) fn connect_out(&mut self, o: ConnectOut) {
        match o {
            ConnectOut::Handshaken {
                id,
                remote_id,
                known,
            } => self.connect_event(id, ConnectEvent::Handshaken { remote_id, known }),
            ConnectOut::AcceptPassive { id, remote_id } => {
                self.connect_event(id, ConnectEvent::AcceptPassive { remote_id })
            }
            ConnectOut::Relay {
                id,
                is_initiator,
                public_key,
                token,
                result,
            } => self.connect_event(
                id,
                ConnectEvent::Relay {
                    is_initiator,
                    public_key,
                    token,
                    result,
                },
            ),
            ConnectOut::Done { id, result } => {
                if let Some(s) = self.connect_sinks.remove(&id) {
                    let _ = s.events.try_send(ConnectEvent::Done(result));
                }
            }
            ConnectOut::AskLanPing { id, addr } => {
                let ping = self.connect_sinks.get(&id).and_then(|s| s.lan_ping.clone());
                let asked = async move {
                    match ping {
                        Some(p) => (p.0)(addr).await,
                        None => false,
                    }
                };
                self.answer_later(asked, move |core, answered, n, now| {
                    core.connect_lan_answer(id, answered, n, now)
                });
            }
            ConnectOut::NoiseSend { id, payload } => {
                let noise = self.connect_sinks.get(&id).and_then(|s| s.noise.clone());
                let asked = async move {
                    match noise {
                        Some(n) => n.send(payload).await,
                        None => None,
                    }
                };
                self.answer_later(asked, move |core, sent, n, now| {
                    core.connect_noise_sent(id, sent, n, now)
                });
            }
            ConnectOut::NoiseRecv { id, noise: msg } => {
                let noise = self.connect_sinks.get(&id).and_then(|s| s.noise.clone());
                let asked = async move {
                    match noise {
                        Some(n) => n.recv(msg).await,
                        None => None,
                    }
                };
                self.answer_later(asked, move |core, read, n, now| {
                    core.connect_noise_received(id, read, n, now)
                });
            }
            ConnectOut::AskVeto { id, info } => {
                let veto = self.connect_sinks.get(&id).and_then(|s| s.veto.clone());
                let asked = async move {
                    match veto {
                        Some(v) => v.allows(info).await,
                        None => true,
                    }
                };
                self.answer_later(asked, move |core, allowed, n, now| {
                    core.connect_veto_answer(id, allowed, n, now)
                });
            }
        }
    }
}
