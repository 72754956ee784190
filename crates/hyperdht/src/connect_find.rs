//! Finding the server and handshaking with it (`hyperdht lib/connect.js`: `connectAndHolepunch`
//! up to `holepunch`, i.e. `retryRoute`, `findAndConnect`, `connectThroughNodes`,
//! `connectThroughNode`).
//!
//! The same Noise IK message 1 goes out through several nodes; the first node whose reply
//! decrypts wins. The order mirrors upstream:
//! 1. `reusableSocket` and a route to the key: one handshake sent straight to the remote's
//!    address (`retryRoute`); on failure the route is dropped and we go on.
//! 2. Relay addresses known up front (`opts.relayAddresses`, else the relay-address cache, and
//!    on a persistent node its own router entry for the key win over both) are tried one after
//!    another (`connectThroughNodes`) while a FIND_PEER query seeded with them runs
//!    (`nodes: relayAddresses`); replies from those same nodes are skipped. Three handshakes at
//!    most in flight (`new Semaphore(3)`), one of them the relay-address chain.
//! 3. Without known relays: FIND_PEER, a handshake through every node that returns the record,
//!    two at most in flight (`new Semaphore(2)`).
//!
//! With known relays the query runs twice at most (`tries = 2`), the second time unseeded.
//! When nothing answered: `PEER_CONNECTION_FAILED` if a query-found node was tried, else
//! `PEER_NOT_FOUND` (upstream counts only query-found attempts, so a failed relay-address chain
//! plus a query that found only those nodes gives `PEER_NOT_FOUND`).
//!
//! Differences, none visible on the wire except for fewer late messages: upstream waits for the
//! query to end (or yield again) and for other in-flight handshakes to settle before it starts
//! holepunching; here the first good answer returns at once, cancelling the rest. dht-rpc's
//! `retries: 3` query option is not available in `hyperdht-rpc` (its default is used). A query
//! that errors ends that round like a finished one (upstream destroys the socket with the
//! query's error instead). Records are accepted if they decode (`mapFindPeer`), whatever key
//! they carry.

use std::net::SocketAddrV4;

use hyperdht_crypto::{hash, ns, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::node::{RequestSpec, SocketKind};
use hyperdht_rpc::QueryParams;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, Pattern};
use tokio::task::JoinSet;

use crate::connect::{ConnectError, ConnectExtras, ConnectOptions, Handshaken};
use crate::connect_state::Via;
use crate::constants::{Firewall, PayloadError};
use crate::dht::HyperDht;
use crate::messages::{HandshakeMessage, Peer, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};
use crate::Command;

/// `findAndConnect`: parallel handshakes without / with a relay-address chain.
const PARALLEL: usize = 2;
const PARALLEL_PRECONNECT: usize = 3;

/// One `Router.peerHandshake`: where it went, and the REPLY with our address as the node saw it.
type Attempt = (Via, SocketAddrV4, Option<(HandshakeMessage, SocketAddrV4)>);

struct Finder<'a> {
    dht: &'a HyperDht,
    target: [u8; 32],
    remote_public_key: [u8; 32],
    /// `c.handshake`: one Noise state, fed the first reply that comes back (like upstream, a
    /// reply that fails to decrypt spends it).
    hs: Option<Handshake>,
    request: Vec<u8>,
    /// `c.remoteRelayAddresses`: nodes we handshook through, in order.
    tried: Vec<SocketAddrV4>,
    /// `c.firewall === FIREWALL.OPEN`: what the handshake told the server about us.
    announced_open: bool,
}

impl HyperDht {
    /// `connectAndHolepunch` up to the path choice: route, relay addresses, FIND_PEER.
    pub(crate) async fn find_and_handshake(
        &self,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        stream_id: u32,
        opts: &ConnectOptions,
        extras: &ConnectExtras,
    ) -> Result<Handshaken, ConnectError> {
        let mut f = Finder::new(self, key_pair, remote_public_key, stream_id, opts, extras)?;
        if extras.reusable_socket {
            if let Some(addr) = self.connects.route(&remote_public_key) {
                let mut set = JoinSet::new();
                f.spawn(&mut set, Via::Route, addr);
                if let Some(h) = f.settle(set.join_next().await)? {
                    return Ok(h);
                }
                self.connects.drop_route(&remote_public_key, addr);
                if f.hs.is_none() {
                    return Err(ConnectError::HandshakeInvalid);
                }
            }
        }
        f.find_and_connect(extras).await
    }
}

impl<'a> Finder<'a> {
    fn new(
        dht: &'a HyperDht,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        stream_id: u32,
        opts: &ConnectOptions,
        extras: &ConnectExtras,
    ) -> Result<Self, ConnectError> {
        // `connectThroughNode`, first call: our stable address (if any), our local address
        let public = dht
            .rpc
            .remote_address()
            .filter(|_| !dht.rpc.is_firewalled());
        let mut addresses4: Vec<SocketAddrV4> = public.into_iter().collect();
        if opts.local_connection {
            addresses4.push(dht.rpc.server_address());
        }
        let payload = NoisePayload {
            firewall: if public.is_some() {
                Firewall::Open.code()
            } else {
                Firewall::Unknown.code()
            },
            addresses4,
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: extras.reusable_socket,
                id: stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            ..NoisePayload::default()
        };
        let mut hs = Handshake::new(
            Pattern::IK,
            true,
            DhKeyPair::from_seed(&key_pair.seed()),
            ns::peer_handshake(),
            Some(remote_public_key),
        )
        .map_err(|_| ConnectError::HandshakeInvalid)?;
        let noise = hs
            .send(&payload.to_bytes())
            .map_err(|_| ConnectError::HandshakeInvalid)?;
        let request = HandshakeMessage {
            mode: RouterMode::FromClient.code(),
            noise,
            peer_address: None,
            relay_address: None,
        }
        .to_bytes();
        Ok(Finder {
            dht,
            target: hash(&remote_public_key),
            remote_public_key,
            hs: Some(hs),
            request,
            tried: Vec::new(),
            announced_open: public.is_some(),
        })
    }

    /// `opts.relayAddresses`, else the cache; a persistent node's own route wins over both.
    fn known_relays(&self, opts: &ConnectExtras) -> Option<Vec<SocketAddrV4>> {
        let mut relays = if opts.relay_addresses.is_empty() {
            self.dht.connects.cached_relays(&self.remote_public_key)
        } else {
            Some(opts.relay_addresses.clone())
        };
        if !self.dht.rpc.is_ephemeral() {
            let own = self.dht.with_store(|s| {
                s.forwards
                    .get(&self.target, std::time::Instant::now())
                    .and_then(|f| f.relay)
            });
            if let Some(Some(relay)) = own {
                relays = Some(vec![relay]);
            }
        }
        relays
    }

    async fn find_and_connect(&mut self, opts: &ConnectExtras) -> Result<Handshaken, ConnectError> {
        let relays = self.known_relays(opts);
        let chain: Vec<SocketAddrV4> = relays.clone().unwrap_or_default();
        let preconnect = !chain.is_empty();
        let mut chain_next = chain.iter().copied();
        let mut free = if preconnect {
            PARALLEL_PRECONNECT
        } else {
            PARALLEL
        };
        let mut set: JoinSet<Attempt> = JoinSet::new();
        let mut attempts = 0usize;
        if let Some(first) = chain_next.next() {
            free -= 1;
            self.tried.push(first);
            self.spawn(&mut set, Via::RelayAddresses, first);
        }
        if preconnect {
            // upstream's query starts sending a tick after `connectThroughNodes` (the stream is
            // read asynchronously): connects started together get all their relay handshakes
            // queued before any of their queries, so a burst of connects through cached relays
            // costs one request each while the congestion window is full
            tokio::task::yield_now().await;
        }
        let tries = if relays.is_some() { 2 } else { 1 };
        let mut seed = relays;
        for attempt_round in 0..tries {
            // `relayAddresses = null` after the first round: only the seeded query skips them
            let skip_chain = preconnect && attempt_round == 0;
            self.dht.connects.count_query();
            let mut query = self.dht.rpc.query(QueryParams {
                target: self.target,
                command: Command::FindPeer.code(),
                internal: false,
                value: None,
                concurrency: None,
                nodes: seed.take().unwrap_or_default(),
                only_closest_nodes: false,
                force: false,
            });
            let mut query_done = false;
            loop {
                // a finished query waits for its handshakes (`sem.flush()`) only if it started any
                if query_done && (attempts == 0 || set.is_empty()) {
                    break;
                }
                tokio::select! {
                    res = set.join_next(), if !set.is_empty() => {
                        let via = self.on_settled(res, &mut set, &mut chain_next, &mut free)?;
                        if let Some(h) = via {
                            return Ok(h);
                        }
                    }
                    ev = query.next(), if !query_done && free > 0 => match ev {
                        Some(QueryEvent::Reply(r)) => {
                            let record = r
                                .value
                                .as_ref()
                                .is_some_and(|v| Peer::from_bytes(v).is_ok());
                            // nodes the relay-address chain covers are skipped
                            if !record || (skip_chain && chain.contains(&r.from)) {
                                continue;
                            }
                            self.tried.push(r.from);
                            attempts += 1;
                            free -= 1;
                            self.spawn(&mut set, Via::FindPeer, r.from);
                        }
                        _ => query_done = true,
                    },
                }
            }
        }
        while !set.is_empty() {
            let res = set.join_next().await;
            if let Some(h) = self.on_settled(res, &mut set, &mut chain_next, &mut free)? {
                return Ok(h);
            }
        }
        Err(if attempts > 0 {
            ConnectError::PeerConnectionFailed
        } else {
            ConnectError::PeerNotFound
        })
    }

    /// A handshake settled: the winner, or its slot goes to the next chained relay address
    /// (`connectThroughNodes`) or back to the pool.
    fn on_settled(
        &mut self,
        res: Option<Result<Attempt, tokio::task::JoinError>>,
        set: &mut JoinSet<Attempt>,
        chain_next: &mut impl Iterator<Item = SocketAddrV4>,
        free: &mut usize,
    ) -> Result<Option<Handshaken>, ConnectError> {
        let via = match &res {
            Some(Ok((via, _, _))) => Some(*via),
            _ => None,
        };
        if let Some(h) = self.settle(res)? {
            set.abort_all();
            return Ok(Some(h));
        }
        if self.hs.is_none() {
            // a reply that did not decrypt spent the Noise state: nothing else can succeed
            set.abort_all();
            return Err(ConnectError::PeerConnectionFailed);
        }
        let next = (via == Some(Via::RelayAddresses))
            .then(|| chain_next.next())
            .flatten();
        match next {
            Some(addr) => {
                self.tried.push(addr);
                self.spawn(set, Via::RelayAddresses, addr);
            }
            None => *free += 1,
        }
        Ok(None)
    }

    /// `Router.peerHandshake(target, {noise, socket}, address)`: a REPLY from that node.
    fn spawn(&self, set: &mut JoinSet<Attempt>, via: Via, to: SocketAddrV4) {
        let mut spec = RequestSpec::new(to, false, Command::PeerHandshake.code());
        spec.target = Some(self.target);
        spec.value = Some(self.request.clone());
        if via == Via::Route {
            // `retryRoute`: through the socket the earlier stream used
            spec.socket = Some(SocketKind::Server);
        }
        // made here, not in the task: the request is queued now, ahead of a FIND_PEER query
        // started after it (upstream: 200 concurrent connects with cached relays cost one
        // window slot each, not a whole query each)
        let request = self.dht.rpc.request(spec);
        set.spawn(async move {
            let reply = request.await.ok().and_then(|res| {
                let m = HandshakeMessage::from_bytes(res.value.as_ref()?).ok()?;
                let ok = m.mode == RouterMode::Reply.code() && res.from == to;
                (ok && !m.noise.is_empty()).then_some((m, res.to))
            });
            (via, to, reply)
        });
    }

    /// The rest of `connectThroughNode`: decrypt the server's payload and check it. A reply that
    /// does not decrypt is ignored (but spends the Noise state); version / error / missing UDX
    /// data end the connect.
    fn settle(
        &mut self,
        res: Option<Result<Attempt, tokio::task::JoinError>>,
    ) -> Result<Option<Handshaken>, ConnectError> {
        let Some(Ok((via, relay, Some((m, client_address))))) = res else {
            return Ok(None);
        };
        let Some(mut hs) = self.hs.take() else {
            return Ok(None);
        };
        let Some(remote) = hs
            .recv(&m.noise)
            .ok()
            .and_then(|p| NoisePayload::from_bytes(&p).ok())
        else {
            return Ok(None);
        };
        if remote.version != 1 {
            return Err(ConnectError::ServerIncompatible);
        }
        if PayloadError::from_code(remote.error) != PayloadError::None {
            return Err(ConnectError::ServerError(format!(
                "Server returned an error ({})",
                remote.error
            )));
        }
        if remote.udx.is_none() {
            return Err(ConnectError::ServerError(
                "Server did not send UDX data".into(),
            ));
        }
        let result = hs.result().ok_or(ConnectError::HandshakeInvalid)?;
        self.dht.connects.count_via(via);
        Ok(Some(Handshaken {
            relay,
            relayed: m.peer_address.is_some(),
            client_address,
            server_address: m.peer_address.unwrap_or(relay),
            payload: remote,
            result,
            target: self.target,
            tried: std::mem::take(&mut self.tried),
            announced_open: self.announced_open,
        }))
    }
}
