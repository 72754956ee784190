//! Listening servers as sans-IO state (`hyperdht lib/server.js`). A server answers PEER_HANDSHAKE
//! for `hash(publicKey)` with Noise IK message 2 (`handshakes.rs`) and runs the holepunch rounds
//! of its handshake slots (`holepunch.rs`). What needs the outside world leaves as a
//! [`ServerOut`]: asking the app's firewall or holepunch veto, opening the UDX stream of an
//! accepted handshake. Their outcomes come back through the `Core` methods named after them.

mod external;
mod handshakes;
mod holepunch;

use std::collections::HashMap;
use std::net::SocketAddrV4;

use hyperdht_rpc::node::Node;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::HandshakeResult;

use crate::core::announcer::RelayGenerations;
use crate::core::holepuncher::HolepunchInfo;
use crate::noise_payload::{NoisePayload, RelayInfo};

pub(crate) use handshakes::Slot;

/// A handshake slot's identity: the server's target, the slot index (the `holepunch.id` we
/// advertise) and the slot's generation (slots are reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotKey {
    pub target: [u8; 32],
    pub slot: usize,
    pub gen: u64,
}

/// A handshake slot as `server._holepunches[id]` shows it (hyperdht keeps its handshake state
/// objects in that array; tests and tools read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolepunchView {
    /// `hs.round`: the last holepunch round
    pub round: u64,
    /// `hs.aborted`: its puncher ended before a direct path took over (the client aborted,
    /// punching ran out, or the server gave up)
    pub aborted: bool,
    /// `hs.relayPaired`: a blind relay paired its connection
    pub relay_paired: bool,
}

/// `createServer(opts)` options as the core sees them (the callables stay with the driver).
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// a `firewall(remotePublicKey, payload, address)` callback is set: ask it per handshake
    pub firewall: bool,
    /// `holepunch: false` never punches (clients then need the LAN or OPEN path)
    pub holepunch: bool,
    /// a `holepunch(...)` veto function is set: ask it before punching back
    pub holepunch_veto: bool,
    /// `shareLocalAddress` (default true)
    pub share_local_address: bool,
    /// `reusableSocket` (default false)
    pub reusable_socket: bool,
    /// `relayThrough`
    pub relay_through: RelayChoice,
    /// `createHandshake`: the app's handshake objects read message 1 ([`ServerOut::NoiseRecv`])
    /// and write message 2 ([`ServerOut::NoiseSend`]); the key pair is only its public half
    pub external: bool,
    /// `listen(keyPair, {signAnnounce, signUnannounce})` (or a key pair without its secret
    /// key): the app signs the announcer's requests (`AnnouncerOut::Sign`)
    pub external_sign: bool,
}

/// `createServer({relayThrough})`: no relay, a fixed relay node's key, or a function the app
/// answers per handshake (`selectRelay(this.relayThrough)`), asked with the firewall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelayChoice {
    #[default]
    None,
    Key([u8; 32]),
    Ask,
}

impl RelayChoice {
    /// The relay for one handshake, given what the app answered when asked.
    pub(crate) fn resolve(self, asked: Option<[u8; 32]>) -> Option<[u8; 32]> {
        match self {
            RelayChoice::None => None,
            RelayChoice::Key(k) => Some(k),
            RelayChoice::Ask => asked,
        }
    }
}

impl ServerConfig {
    /// `relayThrough` is a function the app answers per handshake.
    pub(crate) fn asks_relay(&self) -> bool {
        self.relay_through == RelayChoice::Ask
    }

    /// A handshake waits for the app (its firewall, its relay function) before message 2.
    pub(crate) fn asks_app(&self) -> bool {
        self.firewall || self.asks_relay()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            firewall: false,
            holepunch: true,
            holepunch_veto: false,
            share_local_address: true,
            reusable_socket: false,
            relay_through: RelayChoice::None,
            external: false,
            external_sign: false,
        }
    }
}

/// How an accepted handshake's UDX stream is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOpen {
    /// Connect to the claimed client address at once, sending at most `budget` datagrams
    /// until the client is heard from (the address may be spoofed).
    Unverified { addr: SocketAddrV4, budget: usize },
    /// Wait: the client's first UDX packet (on whatever path the punch opens) connects it.
    Accept,
}

/// What a server needs from the outside world.
#[derive(Debug)]
pub enum ServerOut {
    /// Ask the app's firewall (if `firewall`) and its `relayThrough` function (if `relay`);
    /// answer with `Core::firewall_answer`.
    AskFirewall {
        key: SlotKey,
        remote_public_key: [u8; 32],
        payload: Box<NoisePayload>,
        address: SocketAddrV4,
        firewall: bool,
        relay: bool,
    },
    /// `_relayConnection`: pair the slot's stream through the blind relay `public_key` with
    /// `token` (`is_initiator` when it is our relay); report `Core::server_relay_paired` (then
    /// connect the stream to the relay) or `Core::server_relay_failed`.
    Relay {
        key: SlotKey,
        is_initiator: bool,
        public_key: [u8; 32],
        token: [u8; 32],
    },
    /// The slot's client reached pool socket `socket` (we punched from a RANDOM NAT): accept
    /// the slot's stream there too; the first candidate to connect wins.
    AcceptOn {
        key: SlotKey,
        socket: crate::core::random_punch::PoolId,
    },
    /// A new handshake (`key.gen` names it): the app's handshake object reads message 1;
    /// answer with `Core::server_noise_received`.
    NoiseRecv { key: SlotKey, noise: Vec<u8> },
    /// The app's handshake object of `key` writes message 2 carrying `payload` (an encoded
    /// `noisePayload`); answer with `Core::server_noise_sent`.
    NoiseSend { key: SlotKey, payload: Vec<u8> },
    /// Ask the app's holepunch veto; answer with `Core::server_veto_answer`.
    AskVeto { key: SlotKey, info: HolepunchInfo },
    /// Open the slot's UDX stream; report `Core::server_stream_connected` once connected, or
    /// `Core::server_stream_failed` after `timeout`.
    OpenStream {
        key: SlotKey,
        local_id: u32,
        remote_id: u32,
        open: StreamOpen,
        result: Box<HandshakeResult>,
        timeout: std::time::Duration,
        /// both sides asked for `reusableSocket`: remember the route once connected
        route: bool,
    },
}

/// One listening server (`class Server` minus its event emitter).
pub struct Server {
    pub(crate) public_key: [u8; 32],
    pub(crate) key_pair: DhKeyPair,
    pub(crate) config: ServerConfig,
    pub(crate) slots: Vec<Option<Slot>>,
    pub(crate) by_noise: HashMap<Vec<u8>, usize>,
    pub(crate) next_gen: u64,
    pub(crate) suspended: bool,
    /// `announcer.relays` (relay node, our address as it saw us), for the handshake payload
    pub relays: Vec<RelayInfo>,
    /// `announcer.relayAddresses`
    pub relay_addresses: Vec<SocketAddrV4>,
    /// `announcer.isRelay` state
    pub relay_generations: RelayGenerations,
}

impl Server {
    pub fn new(key_pair: &hyperdht_crypto::KeyPair, config: ServerConfig) -> Self {
        Server {
            public_key: key_pair.public_key,
            key_pair: DhKeyPair::from_seed(&key_pair.seed()),
            config,
            slots: Vec::new(),
            by_noise: HashMap::new(),
            next_gen: 0,
            suspended: false,
            relays: Vec::new(),
            relay_addresses: Vec::new(),
            relay_generations: RelayGenerations::default(),
        }
    }

    pub fn target(&self) -> [u8; 32] {
        hyperdht_crypto::hash(&self.public_key)
    }

    /// (handshake slots in use, noise-keyed entries).
    pub fn slot_counts(&self) -> (usize, usize) {
        (self.slots.iter().flatten().count(), self.by_noise.len())
    }

    /// `server._holepunches`: each handshake slot by its id (the `holepunch.id` the client
    /// echoes), `None` where a slot is free.
    pub fn holepunches(&self) -> Vec<Option<HolepunchView>> {
        self.slots
            .iter()
            .map(|s| s.as_ref().map(Slot::view))
            .collect()
    }
}

/// The node's view of itself when a handshake arrives.
#[derive(Debug, Clone)]
pub(crate) struct NodeView {
    /// `dht.remoteAddress()`: our public address if we are not firewalled.
    pub remote_address: Option<SocketAddrV4>,
    /// where a peer on our LAN reaches our server socket (`Holepuncher.localAddresses`)
    pub local_addresses: Vec<SocketAddrV4>,
}

impl NodeView {
    pub(crate) fn of(node: &Node, local_addresses: &[SocketAddrV4]) -> Self {
        NodeView {
            remote_address: if node.is_firewalled() {
                None
            } else {
                node.remote_address()
            },
            local_addresses: local_addresses.to_vec(),
        }
    }
}
