//! UDX: reliable, ordered, multiplexed streams over UDP, wire-compatible with libudx
//! (`src/udx.c`) as shipped in udx-native 1.21.
//!
//! * [`header`]: the 20-byte packet header and type flags.
//! * [`stream`]: the sans-IO stream state machine (sequence numbers, ACK/SACK, RTO and
//!   RACK-style loss detection, congestion window, END/DESTROY, unreliable messages).
//! * [`socket`]: the tokio driver — one task per UDP socket, streams demultiplexed by id,
//!   `UdxStream` implementing `AsyncRead`/`AsyncWrite`.
//!
//! Congestion control is NewReno-style (slow start, AIMD, multiplicative decrease once per
//! loss episode) with a send window bounded by the peer's rwnd; it is interop-neutral (nothing
//! about it is on the wire). libudx's BBR port and MTU probing are not implemented yet: we send
//! at the base MTU (1152-byte payloads), which every libudx receiver accepts.
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

pub use socket::{Firewall, Transport, UdxSocket, UdxStream};
pub use stream::{Stream, StreamEvent};

/// Errors surfaced on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdxError {
    /// The peer sent DESTROY (`ECONNRESET`).
    ConnectionReset,
    /// Retransmissions gave up (`ETIMEDOUT`).
    TimedOut,
    /// Destroyed locally.
    Destroyed,
}

impl std::fmt::Display for UdxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UdxError::ConnectionReset => "ECONNRESET: connection reset by peer",
            UdxError::TimedOut => "ETIMEDOUT: connection timed out",
            UdxError::Destroyed => "stream destroyed",
        })
    }
}

impl std::error::Error for UdxError {}
