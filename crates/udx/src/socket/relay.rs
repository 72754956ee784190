//! What a stream does besides carrying its own data: relaying (`udx_stream_relay_to`, used by
//! blind-relay servers: datagrams for the stream are forwarded, id rewritten, to the peer of
//! another stream on the same socket, unprocessed), telling the owner of a reserved stream that
//! its first datagram arrived (udx-native's stream `firewall` callback), and noticing that a
//! moved remote (`changeRemote`) was heard from (hyperdht relay-connection.js
//! `confirmDirectUpgrade`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::header::{DESTROY, HEADER_SIZE};

/// Where a stream's peer is, shared with the streams relaying to it: `(peer's stream id,
/// address)` once connected.
pub(crate) type PeerCell = Arc<Mutex<Option<(u32, SocketAddr)>>>;

/// Called once with the source of the first datagram a reserved stream keeps.
pub type EarlyHook = Box<dyn FnOnce(SocketAddr) + Send>;

/// Per-stream state of this module.
#[derive(Default)]
pub(crate) struct Extras {
    /// this stream's own peer, for streams that relay to it
    pub peer: PeerCell,
    /// `relayTo(destination)`: the destination's peer and local id
    pub relay_to: Option<(PeerCell, u32)>,
    pub early_hook: Option<EarlyHook>,
    /// called once when a connected stream hears from an address other than its remote
    /// (libudx calls the stream firewall for such packets: a relayed stream's peer punched
    /// through)
    pub new_source: Option<EarlyHook>,
    /// a datagram came from the current remote since it was last set
    pub heard_remote: bool,
}

/// A datagram to forward (relaying): the rewritten bytes, where to, and the destination
/// stream's local id when the datagram was a DESTROY (both relay streams then close).
pub(crate) struct Forward {
    pub to: SocketAddr,
    pub data: Vec<u8>,
    pub closes: Option<u32>,
}

impl Extras {
    /// The stream's peer changed (connect, `changeRemote`).
    pub(crate) fn set_peer(&mut self, remote_id: u32, addr: SocketAddr) {
        if let Ok(mut p) = self.peer.lock() {
            *p = Some((remote_id, addr));
        }
        self.heard_remote = false;
    }

    /// A relaying stream forwards `d` to its destination's peer (dropped while that peer is
    /// unknown: the sender retransmits).
    pub(crate) fn forward(&self, d: &[u8]) -> Option<Option<Forward>> {
        let (cell, dest_id) = self.relay_to.as_ref()?;
        let peer = cell.lock().ok().and_then(|p| *p);
        let Some((remote_id, to)) = peer else {
            return Some(None);
        };
        if d.len() < HEADER_SIZE {
            return Some(None);
        }
        let mut data = d.to_vec();
        data[4..8].copy_from_slice(&remote_id.to_le_bytes());
        let closes = (d[2] & DESTROY != 0).then_some(*dest_id);
        Some(Some(Forward { to, data, closes }))
    }

    /// A connected stream got a datagram from `from`, not its remote.
    pub(crate) fn stray(&mut self, from: SocketAddr) {
        if let Some(hook) = self.new_source.take() {
            hook(from);
        }
    }

    /// A datagram was kept for a reserved stream (its first runs the early hook).
    pub(crate) fn kept(&mut self, from: SocketAddr) {
        if let Some(hook) = self.early_hook.take() {
            hook(from);
        }
    }
}
