//! A client dial's questions to JS and their answers: the `holepunch` veto, the LAN ping through
//! the app's `dht.ping`, blind-relay pairings, `createHandshake`'s Noise messages, and the
//! tick-later start (`go`).

use napi_derive::napi;

use super::{ConnCore, JsConnectionEvent, NativeConnection, State};
use crate::noise::{JsNoiseAnswer, NoiseEvent, NoiseQuestions, NoiseStep};
use crate::questions::JsQuestions;
use crate::relay::{RelayEvent, Relays};
use crate::veto::JsHolepunchInfo;
use hyperdht_core::driver::paths::SharedPath;

impl ConnCore {
    /// Emits a question for the client's `holepunch` function.
    pub(crate) fn ask_veto(&self, id: u32, veto: JsHolepunchInfo) -> bool {
        self.emit(JsConnectionEvent::HolepunchVeto { id, veto })
    }

    /// Emits a LAN-shortcut ping for the app's `dht.ping`.
    pub(crate) fn ask_lan_ping(&self, id: u32, addr: std::net::SocketAddrV4) -> bool {
        self.emit(JsConnectionEvent::LanPing {
            id,
            host: addr.ip().to_string(),
            port: u32::from(addr.port()),
        })
    }

    /// Records how the connection was made (the engine's shared entry).
    pub(crate) fn set_path(&self, path: Option<SharedPath>) {
        if let Some(p) = path {
            let _ = self.path.set(p);
        }
    }

    pub(crate) fn relays(&self) -> &Relays {
        &self.relays
    }

    /// Emits a relay event (false once the connection is gone).
    pub(crate) fn relay_event(&self, ev: RelayEvent) -> bool {
        self.emit(match ev {
            RelayEvent::Pair(request) => JsConnectionEvent::Relay { request },
            RelayEvent::Close(id) => JsConnectionEvent::RelayClose { id },
        })
    }

    pub(crate) fn questions(&self) -> &JsQuestions {
        &self.questions
    }

    pub(crate) fn noise_questions(&self) -> &NoiseQuestions {
        &self.noise
    }

    /// Emits a question for the connect's handshake object (false once the connection is gone).
    pub(crate) fn ask_noise(&self, ev: NoiseEvent) -> bool {
        let (id, data) = (ev.id, ev.data.into());
        self.emit(match ev.step {
            NoiseStep::Send => JsConnectionEvent::NoiseSend { id, payload: data },
            NoiseStep::Recv => JsConnectionEvent::NoiseRecv { id, noise: data },
        })
    }
}

#[napi]
impl NativeConnection {
    /// JS's answer to a `noise-send` / `noise-recv` event (`null`: the handshake object threw).
    #[napi(catch_unwind)]
    pub fn noise_reply(&self, id: u32, answer: Option<JsNoiseAnswer>) {
        self.core.noise.answer(id, answer);
    }

    /// JS's answer to a `holepunch-veto` (`allow`) or `lan-ping` (`answered`) event.
    #[napi(catch_unwind)]
    pub fn answer(&self, id: u32, value: bool) {
        self.core.questions.answer(id, value);
    }

    /// Lets a dialing connection start (index.js calls it on the tick after `connect()`).
    #[napi(catch_unwind)]
    pub fn go(&self) {
        if let State::Dialing(dial) = &*self.core.state() {
            if !dial.cancelled() {
                dial.start();
            }
        }
    }

    /// JS paired relay request `id` (`relayHost:relayPort` is the relay connection's remote,
    /// `remoteId` the relay's stream for us), or failed to (`relayHost` null). False when the
    /// pairing is no longer wanted: JS ends that relay connection.
    #[napi(catch_unwind)]
    pub fn relay_reply(
        &self,
        id: u32,
        relay_host: Option<String>,
        relay_port: u32,
        remote_id: u32,
    ) -> bool {
        self.core
            .relays
            .reply(id, relay_host, relay_port, remote_id)
    }
}
