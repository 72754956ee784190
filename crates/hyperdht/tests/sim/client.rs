//! Client connects on a simulated host: the deterministic twin of `crates/hyperdht/src/
//! connect.rs` (`Dialing`) and `driver/connect.rs`. A connect reserves a UDX stream, starts
//! `Core::connect`, follows its [`ConnectOut`]s (remembers the server's stream, accepts the
//! server's first packet on the passive path, answers the veto from the host's policy), and on
//! `Done` connects the stream where the core says and starts the secret-stream sender. A
//! connection punched through a pool socket (`Established.via`, RANDOM-NAT birthday punching)
//! moves its stream there (same id), and the socket is the connection's from then on.

use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_core::core::connect::{ConnectError, ConnectOut, ConnectParams, Established};
use hyperdht_core::core::random_punch::PoolId;
use hyperdht_core::core::Output;
use hyperdht_core::stats::Path;
use hyperdht_crypto::KeyPair;

use super::host::{Ask, SimHost};
use super::secret::{App, Role};
use super::udx::{Open, Side};
use super::SERVER_PORT;

/// `dht.connect(publicKey, opts)` options the simulation varies.
#[derive(Debug, Clone)]
pub struct ConnectOpts {
    /// `localConnection`
    pub local_connection: bool,
    /// `fastOpen`
    pub fast_open: bool,
    /// a `holepunch(...)` veto is set (answered by the host's policy)
    pub veto: bool,
    /// what the client sends (and expects echoed) once connected
    pub payload: Vec<u8>,
}

impl ConnectOpts {
    /// Default options, sending `payload`.
    pub fn sending(payload: Vec<u8>) -> Self {
        ConnectOpts {
            local_connection: true,
            fast_open: true,
            veto: false,
            payload,
        }
    }
}

/// One client connect.
#[derive(Debug)]
pub struct Dial {
    pub started_at: Instant,
    /// the reserved stream's index in the host's stream list
    pub stream: usize,
    payload: Vec<u8>,
    /// the server's stream id and address, once the handshake is done
    peer: Option<(u32, Option<SocketAddrV4>)>,
    passive: bool,
    /// `Done`: the path taken, or the error
    pub result: Option<Result<Path, ConnectError>>,
    pub done_at: Option<Instant>,
    /// the pool socket the connection was punched through (its stream lives there)
    pub via: Option<PoolId>,
    /// the app dropped the connect before it ended
    pub cancelled: bool,
}

impl Dial {
    /// The error code (`err.code`) the connect failed with.
    pub fn error_code(&self) -> Option<&'static str> {
        match &self.result {
            Some(Err(e)) => Some(e.code()),
            _ => None,
        }
    }
}

impl SimHost {
    /// `dht.connect(remotePublicKey, opts)`; returns the connect's id.
    pub fn connect(
        &mut self,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        opts: ConnectOpts,
        now: Instant,
    ) -> u64 {
        // stream ids: deterministic per host (the server side's come from the core's RNG)
        self.next_stream_id += 1;
        let stream_id = self.next_stream_id;
        let params = ConnectParams {
            key_pair: key_pair.clone(),
            remote_public_key,
            stream_id,
            stream: u64::from(stream_id),
            local_connection: opts.local_connection,
            fast_open: opts.fast_open,
            reusable_socket: false,
            relay_addresses: Vec::new(),
            veto: opts.veto,
            lan_ping: false,
            relay_through: None,
            external: false,
        };
        // like `c.rawStream`, the stream exists before the handshake is sent
        let stream = self.streams.open(
            Side::Client(u64::MAX),
            SERVER_PORT,
            stream_id,
            Open::Reserve,
            now,
        );
        let id = self.core.connect(params, &mut self.node, now);
        self.streams.list[stream].side = Side::Client(id);
        self.dials.insert(
            id,
            Dial {
                started_at: now,
                stream,
                payload: opts.payload,
                peer: None,
                passive: false,
                result: None,
                done_at: None,
                via: None,
                cancelled: false,
            },
        );
        self.pump(now);
        id
    }

    /// The app drops connect `id` (`Dialing::drop`): the core forgets it, and a server that
    /// may have a stream for us hears a DESTROY.
    pub fn cancel_connect(&mut self, id: u64, now: Instant) {
        let Some(d) = self.dials.get_mut(&id) else {
            return;
        };
        if d.result.is_some() {
            return;
        }
        d.cancelled = true;
        self.core.cancel_connect(id, &mut self.node, now);
        self.drop_stream(id, now);
        self.pump(now);
    }

    pub fn dial(&self, id: u64) -> &Dial {
        &self.dials[&id]
    }

    /// The stream of connect `id`.
    pub fn dial_conn(&self, id: u64) -> &super::udx::Conn {
        &self.streams.list[self.dials[&id].stream]
    }

    /// Destroys a connect's stream that never became a connection, telling the server if
    /// it may have a stream for us (its address known, or a packet from it kept).
    fn drop_stream(&mut self, id: u64, now: Instant) {
        let d = &self.dials[&id];
        let i = d.stream;
        if let Some((remote_id, addr)) = d.peer {
            if let Some(addr) = addr.or_else(|| self.streams.kept_source(i)) {
                self.streams.connect(i, remote_id, addr, now);
            }
        }
        self.streams.destroy(i);
    }

    pub(crate) fn on_connect_output(&mut self, o: Output, now: Instant) {
        let Output::Connect(o) = o else {
            return;
        };
        match o {
            // no relayer in the simulation: relays are tested end to end (`__test__/relay*`)
            ConnectOut::Relay { .. } => {}
            // the simulated connects hold their key pairs (createHandshake: `connect_core.rs`)
            ConnectOut::NoiseSend { .. } | ConnectOut::NoiseRecv { .. } => {}
            ConnectOut::Handshaken {
                id,
                remote_id,
                known,
            } => {
                if let Some(d) = self.dials.get_mut(&id) {
                    d.peer = Some((remote_id, known));
                }
            }
            ConnectOut::AcceptPassive { id, remote_id } => {
                if let Some(d) = self.dials.get_mut(&id) {
                    d.passive = true;
                    let i = d.stream;
                    self.streams.accept_first(i, remote_id, now);
                }
            }
            ConnectOut::AskLanPing { id, .. } => {
                // connects here ping through the node (`lan_ping: false`)
                self.core.connect_lan_answer(id, false, &mut self.node, now);
            }
            ConnectOut::AskVeto { id, info } => {
                self.asks.push(Ask::ClientVeto { id, info });
                let allowed = self.policy.allow_holepunch;
                self.core
                    .connect_veto_answer(id, allowed, &mut self.node, now);
            }
            ConnectOut::Done { id, result } => self.connect_done(id, result, now),
        }
    }

    fn connect_done(&mut self, id: u64, result: Result<Established, ConnectError>, now: Instant) {
        let Some(d) = self.dials.get_mut(&id) else {
            return;
        };
        d.done_at = Some(now);
        let mut i = d.stream;
        match result {
            Ok(est) => {
                d.result = Some(Ok(est.path));
                let payload = d.payload.clone();
                if let (Some(socket), Some(_)) = (est.via, est.connect_to) {
                    i = self.move_to_pool(id, socket, now);
                }
                if let Some(addr) = est.connect_to {
                    self.streams.connect(i, est.remote_id, addr, now);
                }
                let c = &mut self.streams.list[i];
                c.path = Some(est.path);
                c.app = Some(App::new(&est.result, Role::Send(payload)));
            }
            Err(e) => {
                d.result = Some(Err(e));
                self.drop_stream(id, now);
            }
        }
    }

    /// `Dialing::established` with `via`: the stream (same id) moves to pool socket `socket`,
    /// which belongs to the connection from now on. Returns the stream's index. If the
    /// socket is gone, the stream stays on the DHT socket (`fail_established`).
    fn move_to_pool(&mut self, id: u64, socket: PoolId, now: Instant) -> usize {
        let old = self.dials[&id].stream;
        let Some(port) = self.pool.port_of(socket) else {
            return old;
        };
        let local_id = self.streams.list[old].local_id;
        if self.streams.index_of(port, local_id).is_some() {
            return old;
        }
        self.streams.destroy(old);
        let i = self
            .streams
            .open(Side::Client(id), port, local_id, Open::Reserve, now);
        self.pool.hand_over(socket);
        if let Some(d) = self.dials.get_mut(&id) {
            d.stream = i;
            d.via = Some(socket);
        }
        i
    }

    /// A connect's stream found its peer: on the passive path that is the server connecting.
    pub(crate) fn client_stream_connected(&mut self, id: u64, i: usize, now: Instant) {
        let Some(d) = self.dials.get(&id) else {
            return;
        };
        if d.passive && d.result.is_none() {
            let from = self.streams.list[i].remote;
            self.core
                .connect_passive_connected(id, from, &mut self.node, now);
        }
    }
}
