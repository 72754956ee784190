//! How a stream ends (`libudx src/udx.c`: `udx_stream_destroy`, `close_stream`, the DESTROY and
//! ALL_ENDED paths of `process_packet`) and what a closed stream still answers while it lingers.
//!
//! libudx sends one DESTROY and forgets the stream. When that datagram is lost (a slow peer's
//! socket buffer overflowing under a fast sender is enough) the peer only finds out when its
//! retransmissions time out, tens of seconds later. Here a destroyed stream lingers for
//! [`RESET_LINGER`] and answers a peer that is still sending (retransmissions, its 5 s
//! keep-alive) with another DESTROY, a few times at most, at most one per [`RESET_GAP`]. The
//! repeat carries our next seq, which is at or past anything the peer acknowledged of ours, so
//! libudx's `seq ≥ ack` check accepts it as it accepts the first.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Stream, StreamEvent, LINGER};
use crate::header::{self, Header};
use crate::ring;
use crate::UdxError;

/// How long a destroyed stream answers its peer: past hyperdht's 5 s keep-alive.
const RESET_LINGER: Duration = Duration::from_secs(6);
/// DESTROYs repeated after the first, at most.
const RESET_REPEATS: u8 = 3;
/// Least time between two repeats (a burst of the peer's datagrams gets one answer).
const RESET_GAP: Duration = Duration::from_millis(200);

impl Stream {
    /// Sends one DESTROY (if connected) and closes immediately.
    pub fn destroy(&mut self) {
        if self.closed {
            return;
        }
        let connected = self.connected;
        if connected {
            self.push_destroy();
        }
        self.close(Some(UdxError::Destroyed));
        if connected {
            self.resets_left = RESET_REPEATS;
            self.next_reset = Some(self.last_now + RESET_GAP);
            self.linger_until = Some(self.last_now + RESET_LINGER);
        }
    }

    fn push_destroy(&mut self) {
        let h = self.header(header::DESTROY, self.seq);
        self.out.push_with(|d| h.write(d));
    }

    /// A datagram for the stream after it closed: a clean close ACKs retransmitted DATA/END
    /// (our last ACK may have been lost); a destroyed one repeats its DESTROY, at once when
    /// the first one fell to the unverified budget (`first_heard`: the peer never got it).
    pub(super) fn after_close(&mut self, h: &Header, now: Instant, first_heard: bool) {
        if self.linger_until.is_none() {
            return;
        }
        // set only for a destroyed stream, which never ACKs what arrives after it
        if let Some(next) = self.next_reset {
            if self.resets_left > 0 && h.kind & header::DESTROY == 0 && (next <= now || first_heard)
            {
                self.resets_left -= 1;
                self.next_reset = Some(now + RESET_GAP);
                self.push_destroy();
            }
        } else if h.kind & (header::DATA | header::END) != 0 {
            self.ack_needed = true;
        }
    }

    pub(super) fn close(&mut self, err: Option<UdxError>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.rto_deadline = None;
        self.pto_deadline = None;
        self.pacing_deadline = None;
        self.zwp_deadline = None;
        // nothing is sent or reassembled any more: give the buffers back (a clean close lingers
        // for LINGER, and thousands of closing streams each holding their last burst add up)
        self.sbuf = ring::ByteRing::new();
        self.inflight = VecDeque::new();
        (self.sacked, self.sacked_bytes, self.lost) = (0, 0, 0);
        self.ooo = BTreeMap::new();
        self.ooo_bytes = 0;
        self.out.trim(0);
        self.rbuf.trim_idle();
        let ev = match err {
            Some(UdxError::Destroyed) => StreamEvent::Close(None),
            e => StreamEvent::Close(e),
        };
        self.events.push_back(ev);
    }

    /// Both sides ended and everything was acknowledged: a clean close, then a linger.
    pub(super) fn maybe_finish(&mut self) {
        if !self.closed
            && self.local_ended
            && self.remote_ended
            && !self.ack_needed
            && self.inflight.is_empty()
            && self.out.is_empty()
        {
            self.close(None);
            self.linger_until = Some(self.last_now + LINGER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(t0: Instant) -> (Stream, Stream) {
        let mut a = Stream::new_at(1, t0);
        a.connect(2, t0);
        let mut b = Stream::new_at(2, t0);
        b.connect(1, t0);
        (a, b)
    }

    /// One datagram from `b` (its next queued one), for replaying into `a`.
    fn next_from(b: &mut Stream, now: Instant, data: &[u8]) -> Vec<u8> {
        b.write(data, now);
        b.poll_transmit().expect("b sends")
    }

    fn reset(s: &mut Stream) -> bool {
        std::iter::from_fn(|| s.poll_event())
            .any(|e| e == StreamEvent::Close(Some(UdxError::ConnectionReset)))
    }

    /// Our DESTROY is lost; the peer keeps sending (a retransmission, its keep-alive): the
    /// datagram is answered with another DESTROY, which resets the peer.
    #[test]
    fn a_lost_destroy_is_repeated_when_the_peer_speaks() {
        let t0 = Instant::now();
        let (mut a, mut b) = pair(t0);
        let hello = next_from(&mut b, t0, b"hello");
        a.handle_datagram(&hello, t0);
        while let Some(d) = a.poll_transmit() {
            b.handle_datagram(&d, t0);
        }
        a.destroy();
        assert!(a.poll_transmit().is_some(), "the first DESTROY (lost)");
        assert!(a.poll_transmit().is_none());
        let t1 = t0 + Duration::from_secs(5);
        let more = next_from(&mut b, t1, b"still there?");
        a.handle_datagram(&more, t1);
        let answer = a.poll_transmit().expect("a DESTROY again");
        assert!(!b.is_closed());
        b.handle_datagram(&answer, t1);
        assert!(b.is_closed());
        assert!(reset(&mut b), "the peer closed with ECONNRESET");
    }

    /// Repeats are few and spaced (a burst gets one answer), none once the linger ended, and a
    /// stream closed by the peer or never connected sends none.
    #[test]
    fn repeats_are_bounded_spaced_and_end_with_the_linger() {
        let t0 = Instant::now();
        let (mut a, mut b) = pair(t0);
        let d = next_from(&mut b, t0, b"x");
        a.destroy();
        while a.poll_transmit().is_some() {}
        let count = |a: &mut Stream, at: Instant, times: usize| {
            let mut n = 0;
            for _ in 0..times {
                a.handle_datagram(&d, at);
                while a.poll_transmit().is_some() {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(
            count(&mut a, t0 + RESET_GAP, 50),
            1,
            "a burst gets one DESTROY"
        );
        let mut total = 1;
        for i in 2..10u32 {
            total += count(&mut a, t0 + RESET_GAP * i * 2, 5);
        }
        assert_eq!(
            total,
            usize::from(RESET_REPEATS),
            "then nothing, not even an ACK"
        );
        let (mut a, mut b) = pair(t0);
        let d2 = next_from(&mut b, t0, b"y");
        a.destroy();
        while a.poll_transmit().is_some() {}
        let late = t0 + RESET_LINGER + Duration::from_millis(1);
        a.handle_timeout(late);
        assert!(!a.is_lingering());
        a.handle_datagram(&d2, late);
        assert!(a.poll_transmit().is_none(), "nothing after the linger");
        let mut never = Stream::new_at(3, t0);
        never.destroy();
        assert!(!never.is_lingering() && never.poll_transmit().is_none());
    }
}
