//! Client holepunch rounds (`hyperdht lib/connect.js`: `holepunch`, `probeRound`,
//! `roundPunch`, `updateHolepunch`, `abort`): PEER_HOLEPUNCH messages through the server's
//! relay, sent from the socket we punch with, with payloads encrypted under the holepunch secret.

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::RequestSpec;

use crate::connect::{ConnectError, ConnectOptions, Handshaken};
use crate::constants::{Firewall, PayloadError};
use crate::dht::HyperDht;
use crate::holepunch_veto::{HolepunchInfo, HolepunchVeto};
use crate::holepuncher::{Puncher, PUNCH_SOCKET};
use crate::messages::{HolepunchMessage, HolepunchPayload, RouterMode};
use crate::noise_payload::RelayInfo;
use crate::secure_payload::SecurePayload;
use crate::Command;

/// Pause when the server does not know its NAT yet (it may still fast-open to us).
const UNKNOWN_REMOTE_PAUSE: Duration = Duration::from_secs(1);
/// How long to wait for a probe once both sides punch (10 consistent rounds, 1 s apart).
const PUNCH_WAIT: Duration = Duration::from_secs(12);

struct Rounds<'a> {
    dht: &'a HyperDht,
    hs: &'a Handshaken,
    puncher: Arc<Puncher>,
    payload: SecurePayload,
    id: u64,
    round: u64,
    veto: Option<HolepunchVeto>,
}

/// A decrypted PEER_HOLEPUNCH reply.
struct RoundReply {
    payload: HolepunchPayload,
    peer_address: SocketAddrV4,
}

impl HyperDht {
    /// Punches to the server; resolves with the address whose probe reached us first.
    pub(crate) async fn holepunch(
        &self,
        hs: &Handshaken,
        opts: &ConnectOptions,
        veto: Option<HolepunchVeto>,
    ) -> Result<SocketAddrV4, ConnectError> {
        let Some(info) = hs.payload.holepunch.clone() else {
            return Err(ConnectError::CannotHolepunch);
        };
        let puncher = Puncher::new(
            &self.rpc,
            &self.punchers,
            true,
            Firewall::from_code(hs.payload.firewall),
            self.rpc.is_firewalled(),
        );
        puncher.expect(hs.server_address);
        let mut connected = puncher.on_connect();
        let mut r = Rounds {
            dht: self,
            hs,
            puncher: puncher.clone(),
            payload: SecurePayload::new(&hs.result.holepunch_secret(ns::peer_holepunch())),
            id: info.id,
            round: 0,
            veto,
        };
        // `pickServerRelay`: the server relay we talked through, else its first
        let server_relay = info
            .relays
            .iter()
            .copied()
            .find(|x| x.relay_address == hs.relay)
            .unwrap_or(info.relays[0]);
        let outcome = tokio::select! {
            a = &mut connected => return a.map_err(|_| ConnectError::HolepunchAborted),
            o = r.run(server_relay, opts.fast_open) => o,
        };
        if let Err(e) = outcome {
            // `isDone(c)`: a probe may have connected us while the failing round was in flight
            if let Ok(a) = connected.try_recv() {
                puncher.destroy();
                return Ok(a);
            }
            puncher.destroy();
            // hyperdht's `holepunch`: a round that throws destroys the puncher first, whose
            // `onabort` fails the connection with HOLEPUNCH_ABORTED (so e.g. a remote abort or a
            // failed relay request surface as that); only `abort(c, relay, err)` keeps its error
            return Err(match e {
                ConnectError::HolepunchProbeTimeout
                | ConnectError::HolepunchDoubleRandomizedNats
                | ConnectError::HolepunchAborted => e,
                _ => ConnectError::HolepunchAborted,
            });
        }
        let res = tokio::time::timeout(PUNCH_WAIT, connected).await;
        puncher.destroy();
        match res {
            Ok(Ok(a)) => Ok(a),
            _ => Err(ConnectError::HolepunchAborted),
        }
    }
}

impl Rounds<'_> {
    async fn run(&mut self, server_relay: RelayInfo, fast_open: bool) -> Result<(), ConnectError> {
        let mut server_address = self.hs.server_address;
        let fast = fast_open.then_some(server_address);
        let (token, peer) = self.probe_round(fast, server_relay, true).await?;
        // the server answered through the relay we used and moved its socket: follow it
        if server_relay.relay_address == self.hs.relay && peer != server_address {
            server_address = peer;
            self.puncher.expect(server_address);
            self.puncher.open_session(server_address);
        }
        self.round_punch(server_address, token, server_relay).await
    }

    /// `probeRound`: exchange NAT state; fails unless both sides know theirs.
    async fn probe_round(
        &mut self,
        server_address: Option<SocketAddrV4>,
        server_relay: RelayInfo,
        retry: bool,
    ) -> Result<(Option<[u8; 32]>, SocketAddrV4), ConnectError> {
        let mut retry = retry;
        loop {
            if let Some(a) = server_address {
                self.puncher.open_session(a);
            }
            let (firewall, addresses) = self.puncher.nat.state();
            let round = self.next_round();
            let reply = self
                .update(
                    server_relay.peer_address,
                    server_relay.relay_address,
                    HolepunchPayload {
                        firewall: firewall.code(),
                        round,
                        addresses,
                        remote_address: server_address,
                        ..HolepunchPayload::default()
                    },
                )
                .await?;
            if self.puncher.remote_firewall() == Firewall::Unknown {
                tokio::time::sleep(UNKNOWN_REMOTE_PAUSE).await;
            }
            let _stable = self.puncher.analyze().await;
            let token = reply.payload.token;
            if (self.puncher.remote_firewall() == Firewall::Unknown || token.is_none()) && retry {
                retry = false;
                continue;
            }
            let (local, _) = self.puncher.nat.state();
            let remote = self.puncher.remote_firewall();
            if remote == Firewall::Unknown || local == Firewall::Unknown {
                return Err(self
                    .abort(server_relay, ConnectError::HolepunchProbeTimeout)
                    .await);
            }
            if remote >= Firewall::Random && local >= Firewall::Random {
                return Err(self
                    .abort(server_relay, ConnectError::HolepunchDoubleRandomizedNats)
                    .await);
            }
            return Ok((token, reply.peer_address));
        }
    }

    /// `roundPunch`: tell the server we punch, then punch.
    async fn round_punch(
        &mut self,
        server_address: SocketAddrV4,
        remote_token: Option<[u8; 32]>,
        server_relay: RelayInfo,
    ) -> Result<(), ConnectError> {
        if let Some(veto) = self.veto.clone() {
            if !veto.allows(HolepunchInfo::of(&self.puncher)).await {
                // 'Client aborted holepunch'
                return Err(self
                    .abort(server_relay, ConnectError::HolepunchAborted)
                    .await);
            }
        }
        self.puncher.nat.with(|n| n.freeze());
        let (local, addresses) = self.puncher.nat.state();
        if local >= Firewall::Random || self.puncher.remote_firewall() >= Firewall::Random {
            // random NAT strategies are not implemented (see holepuncher.rs)
            return Err(self
                .abort(server_relay, ConnectError::HolepunchAborted)
                .await);
        }
        let token = self.payload.token(&server_address);
        let round = self.next_round();
        self.update(
            server_address,
            self.hs.relay,
            HolepunchPayload {
                firewall: local.code(),
                round,
                punching: true,
                addresses,
                token: Some(token),
                remote_token,
                ..HolepunchPayload::default()
            },
        )
        .await?;
        // `isDone(c)`: already connected by a probe (e.g. the fast-open exchange)
        if self.puncher.is_connected() {
            return Ok(());
        }
        if !self.puncher.remote_holepunching() {
            return Err(ConnectError::RemoteNotHolepunching);
        }
        if !self.puncher.punch() {
            return Err(ConnectError::RemoteNotHolepunchable);
        }
        Ok(())
    }

    fn next_round(&mut self) -> u64 {
        let r = self.round;
        self.round += 1;
        r
    }

    /// `updateHolepunch`: one PEER_HOLEPUNCH round trip through `relay`.
    async fn update(
        &mut self,
        peer_address: SocketAddrV4,
        relay: SocketAddrV4,
        payload: HolepunchPayload,
    ) -> Result<RoundReply, ConnectError> {
        let msg = HolepunchMessage {
            mode: RouterMode::FromClient.code(),
            id: self.id,
            payload: self.payload.encrypt(&payload),
            peer_address: Some(peer_address),
        };
        let mut spec = RequestSpec::new(relay, false, Command::PeerHolepunch.code());
        spec.target = Some(self.hs.target);
        spec.value = Some(msg.to_bytes());
        spec.socket = Some(PUNCH_SOCKET);
        let res = self
            .dht
            .rpc
            .request(spec)
            .await
            .map_err(|_| ConnectError::HolepunchAborted)?;
        let hp = res
            .value
            .as_ref()
            .and_then(|v| HolepunchMessage::from_bytes(v).ok())
            .filter(|m| m.mode == RouterMode::Reply.code() && res.from == relay)
            .ok_or(ConnectError::BadHolepunchReply)?;
        let remote = self
            .payload
            .decrypt(&hp.payload)
            .ok_or(ConnectError::HolepunchInvalid)?;
        if PayloadError::from_code(remote.error) != PayloadError::None {
            return Err(ConnectError::RemoteAborted(remote.error));
        }
        self.puncher.nat.with(|n| n.add(res.to, res.from));
        let echoed = remote.remote_token.is_some()
            && crate::holepuncher::token_eq(remote.remote_token, payload.token);
        self.puncher.update_remote(
            remote.punching,
            Firewall::from_code(remote.firewall),
            remote.addresses.as_deref(),
            echoed.then_some(*peer_address.ip()),
        );
        for a in remote.addresses.iter().flatten() {
            self.puncher.expect(*a);
        }
        Ok(RoundReply {
            payload: remote,
            peer_address: hp.peer_address.unwrap_or(relay),
        })
    }

    /// `abort`: tell the server (best effort), stop punching, return `err`.
    async fn abort(&mut self, server_relay: RelayInfo, err: ConnectError) -> ConnectError {
        let p = HolepunchPayload {
            error: PayloadError::Aborted.code(),
            round: self.next_round(),
            ..HolepunchPayload::default()
        };
        let _ = self
            .update(server_relay.peer_address, server_relay.relay_address, p)
            .await;
        self.puncher.destroy();
        err
    }
}
