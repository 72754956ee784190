//! A bounded log of what happened to datagrams, for debugging failed simulations. Times are
//! virtual and relative to [`epoch`](crate::clock::epoch), so the same seed prints the same log.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddrV4;
use std::time::Duration;

use crate::stats::DropReason;
use crate::{HostId, NatId};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceKind {
    /// A host sent a datagram from `src` (its own address) to `dst`.
    Sent {
        host: HostId,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        len: usize,
        ttl: u32,
    },
    /// A NAT (or firewall) created a mapping: `internal` appears outside as `external`;
    /// `dest` is the one destination of an endpoint-dependent (random) mapping.
    Mapped {
        nat: NatId,
        internal: SocketAddrV4,
        external: SocketAddrV4,
        dest: Option<SocketAddrV4>,
    },
    /// Delivered to `host` on `port`, seen as coming from `from`.
    Delivered {
        host: HostId,
        port: u16,
        from: SocketAddrV4,
        len: usize,
    },
    /// Dropped; `from`/`to` as the datagram looked where it was dropped.
    Dropped {
        reason: DropReason,
        from: SocketAddrV4,
        to: SocketAddrV4,
        detail: &'static str,
    },
}

/// One log line: when, which datagram (`packet`, numbered in send order), what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    pub at: Duration,
    pub packet: u64,
    pub kind: TraceKind,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at.as_secs_f64() * 1000.0;
        write!(f, "{ms:>12.3}ms #{:<6} ", self.packet)?;
        match &self.kind {
            TraceKind::Sent {
                host,
                src,
                dst,
                len,
                ttl,
            } => write!(
                f,
                "sent      h{} {src} -> {dst} len={len} ttl={ttl}",
                host.0
            ),
            TraceKind::Mapped {
                nat,
                internal,
                external,
                dest,
            } => {
                write!(f, "mapped    nat{} {internal} => {external}", nat.0)?;
                if let Some(d) = dest {
                    write!(f, " (for {d})")?;
                }
                Ok(())
            }
            TraceKind::Delivered {
                host,
                port,
                from,
                len,
            } => write!(f, "delivered h{} :{port} <- {from} len={len}", host.0),
            TraceKind::Dropped {
                reason,
                from,
                to,
                detail,
            } => write!(f, "dropped   {reason} {from} -> {to} ({detail})"),
        }
    }
}

/// The last `capacity` entries.
#[derive(Debug, Clone)]
pub(crate) struct Trace {
    capacity: usize,
    entries: VecDeque<TraceEntry>,
    /// entries ever recorded (including those pushed out)
    total: u64,
}

impl Trace {
    pub(crate) fn new(capacity: usize) -> Self {
        Trace {
            capacity,
            entries: VecDeque::with_capacity(capacity.min(4096)),
            total: 0,
        }
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.entries.len() > capacity {
            self.entries.pop_front();
        }
    }

    pub(crate) fn push(&mut self, at: Duration, packet: u64, kind: TraceKind) {
        if self.capacity == 0 {
            return;
        }
        self.total += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(TraceEntry { at, packet, kind });
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &TraceEntry> {
        self.entries.iter()
    }

    /// The last `n` entries, one per line, with a header saying how many were left out.
    pub(crate) fn dump(&self, n: usize) -> String {
        let skip = self.entries.len().saturating_sub(n);
        let mut out = format!(
            "trace: last {} of {} entries\n",
            self.entries.len() - skip,
            self.total
        );
        for e in self.entries.iter().skip(skip) {
            out.push_str(&e.to_string());
            out.push('\n');
        }
        out
    }
}
