//! What a stream does besides carrying its own data: relaying (`udx_stream_relay_to`, used by
//! blind-relay servers: datagrams for the stream are forwarded, id rewritten, to the peer of
//! another stream on the same socket, unprocessed), telling the owner of a reserved stream that
//! its first datagram arrived (udx-native's stream `firewall` callback), and noticing that a
//! moved remote (`changeRemote`) was heard from (hyperdht relay-connection.js
//! `confirmDirectUpgrade`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::header::{DESTROY, HEADER_SIZE};

/// Where a stream's peer is, shared with the streams relaying to it.
pub(crate) type PeerCell = Arc<Mutex<Peer>>;

/// Datagrams relayed to a stream whose peer is not known yet (it connects on its peer's first
/// datagram), kept until then; more are dropped (the sender retransmits).
const WAITING: usize = 32;

#[derive(Default)]
pub(crate) struct Peer {
    /// `(peer's stream id, address)` once connected
    at: Option<(u32, SocketAddr)>,
    /// datagrams relayed here before that (their destination id is rewritten on the way out)
    waiting: Vec<Vec<u8>>,
}

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
    /// our next sequence number when the remote last changed (`changeRemote`): what we sent
    /// before went to the old path
    pub change_seq: Option<u32>,
    /// since then, the lowest sequence number heard from the new remote
    pub new_path_seq: Option<u32>,
    /// the last datagram from an address other than the remote, and its sequence number: a
    /// `changeRemote` to that address counts it as heard on the new path (the peer that punched
    /// through first sends its empty confirmation before we switch, and an idle connection
    /// sends nothing after it)
    pub last_stray: Option<(SocketAddr, Option<u32>)>,
    /// how many times the remote changed (`changeRemote` calls)
    pub remote_changes: u64,
    /// a `remote_changed` waiter with nothing pending: woken by the next change only (the
    /// stream's state wakers fire on every datagram, a task wake per message on an idle path)
    pub change_waker: Option<std::task::Waker>,
}

/// A datagram to forward (relaying): the rewritten bytes, where to, and the destination
/// stream's local id when the datagram was a DESTROY (both relay streams then close).
pub(crate) struct Forward {
    pub to: SocketAddr,
    pub data: Vec<u8>,
    pub closes: Option<u32>,
}

impl Extras {
    /// The stream's peer changed (connect, `changeRemote`); datagrams relayed to it meanwhile
    /// go out now.
    pub(crate) fn set_peer(&mut self, remote_id: u32, addr: SocketAddr) -> Vec<Forward> {
        self.heard_remote = false;
        self.new_path_seq = None;
        let Ok(mut p) = self.peer.lock() else {
            return Vec::new();
        };
        p.at = Some((remote_id, addr));
        std::mem::take(&mut p.waiting)
            .into_iter()
            .map(|d| rewrite(d, remote_id, addr, None))
            .collect()
    }

    /// A relaying stream forwards `d` to its destination's peer (kept for it, boundedly, while
    /// that peer is unknown). `None`: this stream does not relay.
    pub(crate) fn forward(&self, d: &[u8]) -> Option<Option<Forward>> {
        let (cell, dest_id) = self.relay_to.as_ref()?;
        if d.len() < HEADER_SIZE {
            return Some(None);
        }
        let Ok(mut peer) = cell.lock() else {
            return Some(None);
        };
        let Some((remote_id, to)) = peer.at else {
            if peer.waiting.len() < WAITING {
                peer.waiting.push(d.to_vec());
            }
            return Some(None);
        };
        let closes = (d[2] & DESTROY != 0).then_some(*dest_id);
        Some(Some(rewrite(d.to_vec(), remote_id, to, closes)))
    }
}

/// `d` addressed to stream `remote_id` at `to`.
fn rewrite(mut data: Vec<u8>, remote_id: u32, to: SocketAddr, closes: Option<u32>) -> Forward {
    data[4..8].copy_from_slice(&remote_id.to_le_bytes());
    Forward { to, data, closes }
}

impl Extras {
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
