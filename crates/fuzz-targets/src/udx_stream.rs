//! Two sans-IO UDX streams (`hyperdht_udx::Stream`, as in the crate's virtual-clock
//! simulation) joined by two fuzzer-controlled links: the input is a sequence of [`Op`]s that
//! write, read, end and destroy, deliver / drop / duplicate / reorder / corrupt datagrams in
//! flight, inject forged or raw datagrams, move the virtual clock and change stream settings.
//!
//! Checked throughout: no panic; every datagram a stream sends is a UDX packet for its peer;
//! the bytes a side reads are exactly the bytes the other side wrote (a prefix of them) as long
//! as it only received genuine datagrams (UDX has no authentication, so forged and corrupted
//! ones may inject data); END arrives only after everything written; timers move forward after
//! they fire (no busy loop). At the end both sides end and the links turn perfect: unless
//! something forged got in, a stream was destroyed or retargeted, or a receive window was
//! shrunk, both must close cleanly with every byte delivered (liveness).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use hyperdht_udx::header::{Header, MESSAGE};
use hyperdht_udx::{Stream, StreamEvent, UdxError};

use crate::ops::Ops;

#[derive(Arbitrary, Debug, PartialEq)]
pub enum Op {
    Write {
        a: bool,
        len: u16,
    },
    Read {
        a: bool,
        max: u16,
    },
    End {
        a: bool,
    },
    Destroy {
        a: bool,
    },
    Message {
        a: bool,
        len: u8,
    },
    /// Delivers up to `n` datagrams of one direction, oldest first.
    Deliver {
        ab: bool,
        n: u8,
    },
    Drop {
        ab: bool,
        idx: u8,
    },
    Duplicate {
        ab: bool,
        idx: u8,
    },
    /// Moves datagram `idx` to the back of the queue.
    Reorder {
        ab: bool,
        idx: u8,
    },
    /// XORs one byte of datagram `idx` (a forged datagram once delivered).
    Corrupt {
        ab: bool,
        idx: u8,
        pos: u16,
        xor: u8,
    },
    /// Feeds a forged packet: header fields relative to what the receiver's peer last sent,
    /// then `len` payload bytes from the input.
    Inject {
        to_a: bool,
        kind: u8,
        data_offset: u8,
        right_id: bool,
        rwnd: u32,
        seq: i16,
        ack: i16,
        len: u16,
    },
    /// Feeds `len` raw bytes from the input.
    Raw {
        to_a: bool,
        len: u16,
    },
    Advance {
        ms: u16,
    },
    /// Jumps to the earliest timer of either stream and fires it.
    NextTimer,
    RecvBuffered {
        a: bool,
        n: u32,
    },
    RecvWindow {
        a: bool,
        max: u32,
    },
    Keepalive {
        a: bool,
        ms: u16,
    },
    ChangeRemote {
        a: bool,
        id: u32,
    },
    PathMtu {
        a: bool,
        mtu: u16,
        ipv6: bool,
    },
}

/// Number of [`Op`] variants (for seed writing).
pub const OP_COUNT: u32 = 19;

const A_ID: u32 = 1;
const B_ID: u32 = 2;
/// Most bytes one side writes per input (keeps executions fast).
const MAX_WRITTEN: u64 = 256 * 1024;
/// Datagrams a link holds; more are dropped (tail drop is plain loss).
const MAX_QUEUE: usize = 4096;
const MAX_OPS: usize = 2000;
const SETTLE_ROUNDS: usize = 20_000;
/// Virtual time the settle phase may take: enough for the slowest legitimate end, a stream
/// giving up after its retransmission timeouts.
const SETTLE_TIME: Duration = Duration::from_secs(15 * 60);

fn pattern(i: u64, seed: u8) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed
}

struct Side {
    s: Stream,
    local: u32,
    remote: u32,
    written: u64,
    ended: bool,
    read: u64,
    eof: bool,
    closed: Option<Option<UdxError>>,
    seed_out: u8,
    seed_in: u8,
    /// seq / ack of the last packet this side sent (for forging plausible packets to its peer)
    last_seq: u32,
    last_ack: u32,
    /// a forged or corrupted datagram reached this side: its read data is not checked
    tainted: bool,
}

impl Side {
    fn new(local: u32, remote: u32, seed_out: u8, seed_in: u8, now: Instant) -> Self {
        let mut s = Stream::new_at(local, now);
        s.connect(remote, now);
        Side {
            s,
            local,
            remote,
            written: 0,
            ended: false,
            read: 0,
            eof: false,
            closed: None,
            seed_out,
            seed_in,
            last_seq: 0,
            last_ack: 0,
            tainted: false,
        }
    }

    fn write(&mut self, len: usize, now: Instant) {
        let len = (len as u64).min(MAX_WRITTEN - self.written) as usize;
        if len == 0 || self.ended || self.closed.is_some() {
            return;
        }
        let buf: Vec<u8> = (0..len as u64)
            .map(|k| pattern(self.written + k, self.seed_out))
            .collect();
        self.s.write(&buf, now);
        self.written += len as u64;
    }

    /// Reads up to `max` bytes and checks them against what the peer wrote.
    fn read(&mut self, max: usize, peer_written: u64) {
        let (x, y) = self.s.read_slices();
        let n = (x.len() + y.len()).min(max);
        if !self.tainted {
            for (k, &b) in x.iter().chain(y.iter()).take(n).enumerate() {
                let at = self.read + k as u64;
                assert!(at < peer_written, "read byte {at} the peer never wrote");
                assert_eq!(b, pattern(at, self.seed_in), "byte {at} corrupted");
            }
        }
        self.s.consume(n);
        self.read += n as u64;
    }

    fn events(&mut self, peer_written: u64, peer_ended: bool) {
        while let Some(ev) = self.s.poll_event() {
            match ev {
                StreamEvent::End => {
                    assert!(!self.eof, "END delivered twice");
                    self.eof = true;
                    if !self.tainted {
                        assert!(peer_ended, "END before the peer ended");
                        let have = self.read + self.s.readable_bytes() as u64;
                        assert_eq!(have, peer_written, "END before all data arrived");
                    }
                }
                StreamEvent::Close(e) => {
                    assert!(self.closed.is_none(), "closed twice");
                    self.closed = Some(e);
                }
                StreamEvent::Message(m) => assert!(m.len() <= 2048),
                StreamEvent::Drain => {}
            }
        }
    }

    /// Collects what the stream sends into `link`.
    fn transmit(&mut self, link: &mut VecDeque<Vec<u8>>) {
        while let Some(d) = self.s.poll_transmit() {
            let (h, _) = Header::parse(&d).expect("the stream sent a non-UDX datagram");
            assert_eq!(h.remote_id, self.remote, "sent to the wrong stream id");
            if h.kind & MESSAGE == 0 {
                self.last_seq = h.seq;
                self.last_ack = h.ack;
            }
            if link.len() < MAX_QUEUE {
                link.push_back(d);
            }
        }
    }
}

struct Sim {
    now: Instant,
    a: Side,
    b: Side,
    ab: VecDeque<Vec<u8>>,
    ba: VecDeque<Vec<u8>>,
    /// liveness is not checked after these
    no_liveness: bool,
}

impl Sim {
    fn side(&mut self, a: bool) -> (&mut Side, &mut Side) {
        if a {
            (&mut self.a, &mut self.b)
        } else {
            (&mut self.b, &mut self.a)
        }
    }

    fn link(&mut self, ab: bool) -> &mut VecDeque<Vec<u8>> {
        if ab {
            &mut self.ab
        } else {
            &mut self.ba
        }
    }

    /// Outputs and events of both sides after any input.
    fn pump(&mut self) {
        self.a.transmit(&mut self.ab);
        self.b.transmit(&mut self.ba);
        let (aw, ae, bw, be) = (self.a.written, self.a.ended, self.b.written, self.b.ended);
        self.a.events(bw, be);
        self.b.events(aw, ae);
        for s in [&self.a, &self.b] {
            assert!(s.s.queued_bytes() as u64 <= s.written);
            // every packet but END carries at least one byte
            assert!(s.s.inflight() as u64 <= s.written + 1);
        }
    }

    /// Delivers one datagram to the stream its header names (the driver's demultiplexing);
    /// anything else is dropped.
    fn deliver(&mut self, ab: bool, d: &[u8], forged: bool) {
        let now = self.now;
        let to = if ab { &mut self.b } else { &mut self.a };
        if Header::peek_id(d) != Some(to.local) {
            return;
        }
        to.tainted |= forged;
        to.s.handle_datagram(d, now);
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        for s in [&mut self.a, &mut self.b] {
            if s.s.poll_timeout().is_some_and(|t| t <= now) {
                s.s.handle_timeout(now);
                if let Some(t) = s.s.poll_timeout() {
                    assert!(t > now, "timer still due right after firing");
                }
            }
        }
    }

    fn advance_to(&mut self, t: Instant) {
        // fire every timer on the way, like a driver would
        for _ in 0..256 {
            let next = [self.a.s.poll_timeout(), self.b.s.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(n) if n <= t => {
                    self.now = self.now.max(n);
                    self.fire_timers();
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.fire_timers();
    }

    fn apply(&mut self, op: Op, ops: &mut Ops<'_>) {
        let now = self.now;
        match op {
            Op::Write { a, len } => self.side(a).0.write(usize::from(len) % 16384, now),
            Op::Read { a, max } => {
                let (me, peer) = self.side(a);
                me.read(usize::from(max), peer.written);
            }
            Op::End { a } => {
                let me = self.side(a).0;
                if me.closed.is_none() {
                    me.ended = true;
                    me.s.end(now);
                }
            }
            Op::Destroy { a } => {
                self.side(a).0.s.destroy();
                self.no_liveness = true;
            }
            Op::Message { a, len } => {
                let m = ops.bytes(usize::from(len));
                self.side(a).0.s.send_message(m);
            }
            Op::Deliver { ab, n } => {
                for _ in 0..n {
                    let Some(d) = self.link(ab).pop_front() else {
                        break;
                    };
                    self.deliver(ab, &d, false);
                }
            }
            Op::Drop { ab, idx } => {
                let q = self.link(ab);
                if !q.is_empty() {
                    q.remove(usize::from(idx) % q.len());
                }
            }
            Op::Duplicate { ab, idx } => {
                let q = self.link(ab);
                if !q.is_empty() && q.len() < MAX_QUEUE {
                    let d = q[usize::from(idx) % q.len()].clone();
                    q.push_back(d);
                }
            }
            Op::Reorder { ab, idx } => {
                let q = self.link(ab);
                if !q.is_empty() {
                    if let Some(d) = q.remove(usize::from(idx) % q.len()) {
                        q.push_back(d);
                    }
                }
            }
            Op::Corrupt { ab, idx, pos, xor } => {
                let q = self.link(ab);
                if q.is_empty() || xor == 0 {
                    return;
                }
                let i = usize::from(idx) % q.len();
                let Some(d) = q.remove(i) else { return };
                let mut d = d;
                let p = usize::from(pos) % d.len().max(1);
                if let Some(b) = d.get_mut(p) {
                    *b ^= xor;
                }
                self.deliver(ab, &d, true);
            }
            Op::Inject {
                to_a,
                kind,
                data_offset,
                right_id,
                rwnd,
                seq,
                ack,
                len,
            } => {
                let (to, from) = self.side(to_a);
                let h = Header {
                    kind,
                    data_offset: data_offset % 32,
                    remote_id: if right_id { to.local } else { to.remote },
                    rwnd,
                    seq: from.last_seq.wrapping_add(seq as i32 as u32),
                    ack: from.last_ack.wrapping_add(ack as i32 as u32),
                };
                let mut d = Vec::new();
                h.write(&mut d);
                d.extend_from_slice(ops.bytes(usize::from(len) % 2048));
                let to = self.side(to_a).0;
                to.tainted = true;
                to.s.handle_datagram(&d, now);
            }
            Op::Raw { to_a, len } => {
                let d = ops.bytes(usize::from(len) % 2048);
                let to = self.side(to_a).0;
                to.tainted = true;
                to.s.handle_datagram(d, now);
            }
            Op::Advance { ms } => {
                let t = now + Duration::from_millis(u64::from(ms));
                self.advance_to(t);
            }
            Op::NextTimer => {
                let next = [self.a.s.poll_timeout(), self.b.s.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                if let Some(t) = next {
                    self.advance_to(t.max(now));
                }
            }
            Op::RecvBuffered { a, n } => {
                self.side(a).0.s.set_recv_buffered(n as usize);
                self.no_liveness = true;
            }
            Op::RecvWindow { a, max } => {
                self.side(a).0.s.set_recv_window(max);
                self.no_liveness = true;
            }
            Op::Keepalive { a, ms } => {
                let ka = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
                self.side(a).0.s.set_keepalive(ka, now);
            }
            Op::ChangeRemote { a, id } => {
                let me = self.side(a).0;
                me.remote = id;
                me.s.change_remote(id);
                self.no_liveness = true;
            }
            Op::PathMtu { a, mtu, ipv6 } => {
                let s = &mut self.side(a).0.s;
                s.set_path_mtu((mtu != 0).then_some(u32::from(mtu)));
                s.set_ipv6(ipv6);
            }
        }
    }

    /// Ends both sides, then runs perfect links until both close (or a bound is hit). Keep-
    /// alives are turned off: a 1 ms one would take a round per millisecond.
    fn settle(&mut self) {
        let now = self.now;
        for s in [&mut self.a, &mut self.b] {
            s.s.set_keepalive(None, now);
            if s.closed.is_none() && !s.ended {
                s.ended = true;
                s.s.end(now);
            }
        }
        self.pump();
        let deadline = now + SETTLE_TIME;
        for _ in 0..SETTLE_ROUNDS {
            if self.now > deadline {
                break;
            }
            let (aw, bw) = (self.a.written, self.b.written);
            self.a.read(usize::MAX, bw);
            self.b.read(usize::MAX, aw);
            while let Some(d) = self.ab.pop_front() {
                self.deliver(true, &d, false);
            }
            while let Some(d) = self.ba.pop_front() {
                self.deliver(false, &d, false);
            }
            self.pump();
            if self.ab.is_empty() && self.ba.is_empty() {
                let next = [self.a.s.poll_timeout(), self.b.s.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) => self.advance_to(t.max(self.now)),
                    None => break,
                }
                self.pump();
            }
        }
        let tainted = self.a.tainted || self.b.tainted;
        let failed = [&self.a, &self.b]
            .iter()
            .any(|s| matches!(s.closed, Some(Some(_))));
        if self.no_liveness || tainted || failed {
            return;
        }
        for (me, peer) in [(&self.a, &self.b), (&self.b, &self.a)] {
            assert_eq!(me.closed, Some(None), "stream {} did not close", me.local);
            assert!(me.eof, "stream {} never saw END", me.local);
            assert_eq!(me.read, peer.written, "stream {} missed data", me.local);
        }
    }
}

pub fn run(data: &[u8]) {
    let now = Instant::now();
    let mut sim = Sim {
        now,
        a: Side::new(A_ID, B_ID, 0xa5, 0x3c, now),
        b: Side::new(B_ID, A_ID, 0x3c, 0xa5, now),
        ab: VecDeque::new(),
        ba: VecDeque::new(),
        no_liveness: false,
    };
    let mut ops = Ops::new(data, MAX_OPS);
    while let Some(op) = ops.op::<Op>() {
        sim.apply(op, &mut ops);
        sim.pump();
    }
    sim.settle();
}
