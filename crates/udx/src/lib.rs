//! UDX: reliable, ordered, multiplexed streams over UDP, wire-compatible with libudx
//! (`src/udx.c`) as shipped in udx-native 1.21.
//!
//! * [`header`]: the 20-byte packet header and type flags.
//! * [`stream`]: the sans-IO stream state machine (sequence numbers, ACK/SACK, RTO, RACK loss
//!   detection, tail-loss probe, END/DESTROY, unreliable messages, post-close linger).
//! * [`bbr`], [`rate`], [`pacer`]: BBR v1 congestion control on delivery-rate samples, with
//!   token-bucket pacing (libudx `udx_bbr.c`, `udx_rate.c`); sans-IO, tested on a virtual clock.
//! * [`txqueue`]: outgoing datagrams back to back, handed out as UDP-GSO runs.
//! * [`socket`]: the tokio driver — one task per UDP socket, streams demultiplexed by id,
//!   `UdxStream` implementing `AsyncRead`/`AsyncWrite`. On an owned socket sends are batched
//!   with UDP GSO and receives with `recvmmsg` + GRO (`udp`, via quinn-udp); every receive
//!   batch is answered by one ACK per stream.
//!
//! Nothing about congestion control, pacing or batching is on the wire. Streams start at the
//! base MTU (1200, 1152-byte payloads) and probe upwards in 32-byte steps to 1500 with padded
//! DATA packets like libudx (`stream/mtu.rs`); `data_offset` padding in probes we receive is
//! skipped. Receive windows are honoured (zero-window probing, `stream/window.rs`).
#![forbid(unsafe_code)]

pub mod bbr;
pub mod header;
pub mod pacer;
pub mod rate;
mod ring;
#[cfg(test)]
mod sim_tests;
pub mod socket;
pub mod stream;
pub mod txqueue;
mod udp;

pub use socket::{Firewall, MessageHook, Transport, UdxSocket, UdxStream, UdxStreamRef};
pub use stream::{Stream, StreamEvent, StreamStats};

/// Errors surfaced on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdxError {
    /// The peer sent DESTROY (`ECONNRESET`).
    ConnectionReset,
    /// Retransmissions gave up (`ETIMEDOUT`).
    TimedOut,
    /// Destroyed locally.
    Destroyed,
    /// The socket's driver task panicked (`EDRIVERFAILED`).
    DriverFailed,
}

impl std::fmt::Display for UdxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UdxError::ConnectionReset => "ECONNRESET: connection reset by peer",
            UdxError::TimedOut => "ETIMEDOUT: connection timed out",
            UdxError::Destroyed => "stream destroyed",
            UdxError::DriverFailed => "EDRIVERFAILED: UDX driver failed",
        })
    }
}

impl std::error::Error for UdxError {}
