//! The sans-IO UDX stream (`libudx src/udx.c`: `udx_stream_write`, `process_packet`,
//! `ack_packet`, `send_ack`, `udx_rto_timeout`). Feed it datagrams and time; collect datagrams,
//! events and the next deadline. Sequence numbers count packets and wrap on the u32 ring.
//!
//! Hot-path layout (no allocation per packet):
//! * the send buffer is one byte ring holding every unacknowledged byte; in-flight packets are
//!   `(offset, len)` views into it, copied straight into the outgoing [`TxQueue`] together with
//!   their header (libudx likewise keeps the write buffers until acked and sends header + slice);
//! * in-order payloads are appended to one receive ring that the reader drains with
//!   [`Stream::read_slices`] / [`Stream::consume`]; only out-of-order packets are stored apart.
//! * ACKs are generated when the driver collects output ([`Stream::poll_transmit`] /
//!   [`Stream::drain_transmit`]), so a batch of received datagrams is answered by one ACK
//!   carrying the newest cumulative ack and SACK state (libudx ACKs every packet; a cumulative
//!   ACK per receive batch is equivalent for its RACK/BBR sender).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::bbr::{Bbr, CaState};
use crate::header::{self, seq_le, seq_lt, Header, HEADER_SIZE};
use crate::pacer::Pacer;
use crate::rate::{PacketRate, RateSampler};
use crate::ring;
use crate::txqueue::TxQueue;
use crate::UdxError;

/// Payload bytes per packet at the base MTU (1200 − IPv4/UDP/UDX overhead).
pub const MSS: usize = 1152;
/// What libudx advertises when nothing is buffered (`UDX_DEFAULT_RWND_MAX`).
pub const RWND_MAX: u32 = 4 * 1024 * 1024;
const MIN_RTO: Duration = Duration::from_millis(1000);
const MAX_RTO: Duration = Duration::from_millis(30_000);
const MAX_RTO_TIMEOUTS: u32 = 6;
/// Out-of-order packets we are willing to buffer ahead of `ack`.
const MAX_OOO: u64 = 8192;
const MAX_SACK_BLOCKS: usize = 50;
/// After a clean close the stream keeps answering retransmitted DATA/END with ACKs this long
/// (a TIME_WAIT; libudx has none): if our last ACK was lost the peer would otherwise
/// retransmit its END into the void and fail with ETIMEDOUT after receiving everything.
const LINGER: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The peer ended its side and all its data was delivered (EOF). Stream data itself is read
    /// with [`Stream::read_slices`] / [`Stream::consume`].
    End,
    Message(Vec<u8>),
    /// Queued bytes dropped below the high-water mark again.
    Drain,
    /// The stream is closed; `None` = clean close (both sides ended and acked).
    Close(Option<UdxError>),
}

#[derive(Debug)]
struct Sent {
    seq: u32,
    kind: u8,
    /// absolute offset of the payload in the send buffer, and its length
    off: u64,
    len: u16,
    sent_at: Instant,
    transmissions: u32,
    rto_count: u32,
    sacked: bool,
    rate: PacketRate,
}

pub struct Stream {
    pub local_id: u32,
    remote_id: u32,
    connected: bool,
    // sender
    seq: u32,
    remote_acked: u32,
    /// every byte from the oldest unacked packet on: in-flight payloads, then unsent bytes
    sbuf: VecDeque<u8>,
    /// absolute offset of `sbuf[0]`
    sbuf_base: u64,
    /// absolute offset of the first byte not yet packetised
    sent_end: u64,
    /// in-flight packets; their seqs are consecutive, so `seq − front.seq` indexes them
    inflight: VecDeque<Sent>,
    end_queued: bool,
    end_seq: Option<u32>,
    local_ended: bool,
    /// in-flight packets the peer SACKed (not in the network any more)
    sacked: usize,
    bbr: Bbr,
    rate: RateSampler,
    pacer: Pacer,
    pacing_deadline: Option<Instant>,
    ca: CaState,
    recovery_until: Option<u32>,
    /// RACK: send time of the most recently sent packet known delivered
    rack_xmit: Option<Instant>,
    send_rwnd: u32,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    rto_deadline: Option<Instant>,
    pto_deadline: Option<Instant>,
    pto_backoff: u32,
    high_water: usize,
    write_blocked: bool,
    // receiver
    ack: u32,
    ack64: u64,
    ooo: BTreeMap<u64, (u8, Vec<u8>)>,
    /// in-order bytes not read yet
    rbuf: VecDeque<u8>,
    remote_ended: bool,
    recv_buffered: usize,
    ack_needed: bool,
    readable: bool,
    // io
    out: TxQueue,
    events: VecDeque<StreamEvent>,
    closed: bool,
    pub retransmits: u64,
    pub packets_sent: u64,
    keepalive: Option<Duration>,
    keepalive_deadline: Option<Instant>,
    /// latest time the stream was driven with (for deadlines set without a `now`)
    last_now: Instant,
    linger_until: Option<Instant>,
}

impl Stream {
    pub fn new(local_id: u32) -> Self {
        let now = Instant::now();
        Stream {
            local_id,
            remote_id: 0,
            connected: false,
            seq: 0,
            remote_acked: 0,
            sbuf: VecDeque::new(),
            sbuf_base: 0,
            sent_end: 0,
            inflight: VecDeque::new(),
            end_queued: false,
            end_seq: None,
            local_ended: false,
            sacked: 0,
            bbr: Bbr::new(now, MSS),
            rate: RateSampler::new(now),
            pacer: Pacer::new(now, MSS),
            pacing_deadline: None,
            ca: CaState::Open,
            recovery_until: None,
            rack_xmit: None,
            send_rwnd: RWND_MAX,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: MIN_RTO,
            rto_deadline: None,
            pto_deadline: None,
            pto_backoff: 0,
            high_water: 4 * 1024 * 1024,
            write_blocked: false,
            ack: 0,
            ack64: 0,
            ooo: BTreeMap::new(),
            rbuf: VecDeque::new(),
            remote_ended: false,
            recv_buffered: 0,
            ack_needed: false,
            readable: false,
            out: TxQueue::default(),
            events: VecDeque::new(),
            closed: false,
            retransmits: 0,
            packets_sent: 0,
            keepalive: None,
            keepalive_deadline: None,
            last_now: now,
            linger_until: None,
        }
    }

    /// `udx_stream_set_keepalive`: while idle (everything acked) send a HEARTBEAT every `ka`.
    pub fn set_keepalive(&mut self, ka: Option<Duration>, now: Instant) {
        self.keepalive = ka.filter(|d| !d.is_zero());
        self.keepalive_deadline = self.keepalive.map(|d| now + d);
    }

    /// `udx_stream_change_remote`: new packets go to the peer's stream `remote_id`.
    pub fn change_remote(&mut self, remote_id: u32) {
        self.remote_id = remote_id;
    }

    /// `udx_stream_connect`: from now on packets go to the peer's stream `remote_id`.
    pub fn connect(&mut self, remote_id: u32, now: Instant) {
        self.remote_id = remote_id;
        self.connected = true;
        self.fill(now);
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }
    pub fn is_closed(&self) -> bool {
        self.closed
    }
    /// Closed cleanly but still re-acknowledging the peer's retransmissions for a while; the
    /// driver keeps routing packets to it until this turns false.
    pub fn is_lingering(&self) -> bool {
        self.linger_until.is_some()
    }
    pub fn rtt(&self) -> Option<Duration> {
        self.srtt
    }
    /// Congestion window in packets (BBR).
    pub fn cwnd(&self) -> f64 {
        self.bbr.cwnd() as f64
    }
    /// The congestion controller's state (bandwidth and RTT estimates, mode).
    pub fn congestion(&self) -> &Bbr {
        &self.bbr
    }
    /// Packets still in the network: in flight and not SACKed.
    fn pipe(&self) -> usize {
        self.inflight.len() - self.sacked.min(self.inflight.len())
    }
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }
    /// Bytes written but not yet acknowledged.
    pub fn queued_bytes(&self) -> usize {
        self.sbuf.len()
    }
    fn unsent_bytes(&self) -> usize {
        (self.sbuf_base + self.sbuf.len() as u64).saturating_sub(self.sent_end) as usize
    }
    pub fn is_write_blocked(&self) -> bool {
        self.unsent_bytes() >= self.high_water
    }

    /// Bytes the application holds outside the stream (lowers the advertised window on top of
    /// what [`Stream::readable_bytes`] holds).
    pub fn set_recv_buffered(&mut self, n: usize) {
        self.recv_buffered = n;
    }

    fn rwnd(&self) -> u32 {
        let buffered = self.recv_buffered.saturating_add(self.rbuf.len());
        RWND_MAX.saturating_sub(buffered.min(u32::MAX as usize) as u32)
    }

    /// In-order bytes waiting for the reader.
    pub fn readable_bytes(&self) -> usize {
        self.rbuf.len()
    }

    /// The readable bytes as (up to) two slices, oldest first; follow with [`Stream::consume`].
    pub fn read_slices(&self) -> (&[u8], &[u8]) {
        self.rbuf.as_slices()
    }

    /// Marks `n` readable bytes as read.
    pub fn consume(&mut self, n: usize) {
        ring::drop_front(&mut self.rbuf, n);
    }

    /// True once since the last call if new in-order data arrived (wake the reader).
    pub fn take_readable(&mut self) -> bool {
        std::mem::take(&mut self.readable)
    }

    fn emit_pending_ack(&mut self) {
        if self.ack_needed && self.connected {
            self.ack_needed = false;
            self.send_ack();
        }
    }

    /// Pops one outgoing datagram (allocates; the driver uses [`Stream::drain_transmit`]).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.emit_pending_ack();
        let d = self.out.pop_front();
        if d.is_none() {
            self.maybe_finish();
        }
        d
    }

    /// Hands every outgoing datagram to `send` as GSO-shaped runs `(bytes, segment_size)` (see
    /// [`TxQueue::drain_runs`]), pending ACK included.
    pub fn drain_transmit(&mut self, max_segments: usize, send: impl FnMut(&[u8], usize)) {
        self.emit_pending_ack();
        self.out.drain_runs(max_segments, send);
        self.maybe_finish();
    }

    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return self.linger_until;
        }
        [
            self.rto_deadline,
            self.pto_deadline,
            self.keepalive_deadline,
            self.pacing_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Queues bytes; never waits for acknowledgements. Returns false above the high-water mark.
    pub fn write(&mut self, data: &[u8], now: Instant) -> bool {
        if self.closed || self.end_queued {
            return false;
        }
        self.sbuf.extend(data);
        self.fill(now);
        let ok = !self.is_write_blocked();
        if !ok {
            self.write_blocked = true;
        }
        ok
    }

    /// Half-close: an END packet follows the queued data.
    pub fn end(&mut self, now: Instant) {
        if self.closed || self.end_queued {
            return;
        }
        self.end_queued = true;
        self.fill(now);
    }

    /// Sends one DESTROY (if connected) and closes immediately.
    pub fn destroy(&mut self) {
        if self.closed {
            return;
        }
        if self.connected {
            let h = self.header(header::DESTROY, self.seq);
            self.out.push_with(|d| h.write(d));
        }
        self.close(Some(UdxError::Destroyed));
    }

    /// An unreliable MESSAGE packet (not retransmitted, not congestion controlled).
    pub fn send_message(&mut self, data: &[u8]) -> bool {
        if !self.connected || self.closed {
            return false;
        }
        let h = self.header(header::MESSAGE, self.seq);
        self.out.push_with(|d| {
            h.write(d);
            d.extend_from_slice(data);
        });
        true
    }

    fn close(&mut self, err: Option<UdxError>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.rto_deadline = None;
        self.pto_deadline = None;
        self.pacing_deadline = None;
        self.sbuf.clear();
        self.inflight.clear();
        self.ooo.clear();
        let ev = match err {
            Some(UdxError::Destroyed) => StreamEvent::Close(None),
            e => StreamEvent::Close(e),
        };
        self.events.push_back(ev);
    }

    /// May a new packet go out: room in the congestion window (packets in the network) and in
    /// the peer's receive window (everything unacknowledged).
    fn window_open(&self) -> bool {
        let rwnd_pkts = (self.send_rwnd as usize / MSS).max(1);
        let cwnd = (self.bbr.cwnd() as usize).max(1);
        self.pipe() < cwnd && self.inflight.len() < rwnd_pkts
    }

    fn header(&self, kind: u8, seq: u32) -> Header {
        Header {
            kind,
            data_offset: 0,
            remote_id: self.remote_id,
            rwnd: self.rwnd(),
            seq,
            ack: self.ack,
        }
    }

    fn transmit(&mut self, idx: usize, now: Instant) {
        let Some(p) = self.inflight.get(idx) else {
            return;
        };
        let h = self.header(p.kind, p.seq);
        let start = p.off.saturating_sub(self.sbuf_base) as usize;
        let len = p.len as usize;
        let sbuf = &self.sbuf;
        self.out.push_with(|d| {
            h.write(d);
            ring::copy_range(sbuf, start, len, d);
        });
        // this packet is counted in the pipe already: the pipe was empty if it is the only one
        let snap = self.rate.on_sent(now, self.pipe() <= 1);
        self.pacer.on_sent(HEADER_SIZE + len);
        let p = &mut self.inflight[idx];
        p.sent_at = now;
        p.rate = snap;
        p.transmissions += 1;
        if p.transmissions > 1 {
            self.retransmits += 1;
        }
        self.packets_sent += 1;
        // every packet carries the current ack: no separate ACK needed
        self.ack_needed = false;
    }

    /// Packetises queued data while the congestion and receive windows allow.
    fn fill(&mut self, now: Instant) {
        if !self.connected || self.closed {
            return;
        }
        self.pacing_deadline = None;
        loop {
            let unsent = self.unsent_bytes();
            let has_end = self.end_queued && self.end_seq.is_none();
            if unsent == 0 && !has_end {
                if self.pipe() < self.bbr.cwnd() as usize {
                    self.rate.set_app_limited(self.pipe());
                }
                break;
            }
            if !self.window_open() {
                break;
            }
            if !self.pacer.ready(now) {
                self.pacing_deadline = Some(self.pacer.next_send_time(now));
                break;
            }
            if self.inflight.is_empty() && self.rate.is_app_limited() {
                self.bbr.on_restart_from_idle(now);
            }
            self.push_new_packet(now);
        }
        if !self.inflight.is_empty() {
            if self.rto_deadline.is_none() {
                self.rto_deadline = Some(now + self.rto);
            }
            if self.pto_deadline.is_none() {
                self.pto_deadline = Some(now + self.pto());
            }
        }
        if self.write_blocked && !self.is_write_blocked() {
            self.write_blocked = false;
            self.events.push_back(StreamEvent::Drain);
        }
    }

    /// Packetises and sends the next DATA (up to [`MSS`] queued bytes) or the END packet.
    /// False if there is nothing to send.
    fn push_new_packet(&mut self, now: Instant) -> bool {
        let unsent = self.unsent_bytes();
        let (kind, len) = if unsent > 0 {
            (header::DATA, unsent.min(MSS))
        } else if self.end_queued && self.end_seq.is_none() {
            self.end_seq = Some(self.seq);
            (header::END, 0)
        } else {
            return false;
        };
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.inflight.push_back(Sent {
            seq,
            kind,
            off: self.sent_end,
            len: len as u16,
            sent_at: now,
            transmissions: 0,
            rto_count: 0,
            sacked: false,
            rate: self.rate.on_sent(now, false),
        });
        self.sent_end += len as u64;
        let idx = self.inflight.len() - 1;
        self.transmit(idx, now);
        true
    }

    fn pto(&self) -> Duration {
        let base = match self.srtt {
            Some(s) => (s * 2 + Duration::from_millis(2)).max(Duration::from_millis(5)),
            None => Duration::from_millis(250),
        };
        (base * (1 << self.pto_backoff.min(6))).min(self.rto)
    }

    fn send_ack(&mut self) {
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        let mut cur: Option<(u64, u64)> = None;
        for &k in self.ooo.keys() {
            match cur {
                Some((s, e)) if e == k => cur = Some((s, e + 1)),
                Some(c) => {
                    blocks.push(self.block(c));
                    if blocks.len() == MAX_SACK_BLOCKS {
                        cur = None;
                        break;
                    }
                    cur = Some((k, k + 1));
                }
                None => cur = Some((k, k + 1)),
            }
        }
        if let Some(c) = cur {
            if blocks.len() < MAX_SACK_BLOCKS {
                blocks.push(self.block(c));
            }
        }
        let kind = if blocks.is_empty() { 0 } else { header::SACK };
        let h = self.header(kind, self.seq);
        self.out.push_with(|d| {
            h.write(d);
            for (s, e) in blocks {
                d.extend_from_slice(&s.to_le_bytes());
                d.extend_from_slice(&e.to_le_bytes());
            }
        });
    }

    fn block(&self, (s, e): (u64, u64)) -> (u32, u32) {
        let base = self.ack64;
        (
            self.ack.wrapping_add((s - base) as u32),
            self.ack.wrapping_add((e - base) as u32),
        )
    }

    /// Feeds one datagram addressed to this stream.
    pub fn handle_datagram(&mut self, d: &[u8], now: Instant) {
        self.last_now = self.last_now.max(now);
        let Some((h, payload)) = Header::parse(d) else {
            return;
        };
        if self.closed {
            if self.linger_until.is_some() && h.kind & (header::DATA | header::END) != 0 {
                self.ack_needed = true;
            }
            return;
        }
        if h.kind & header::DESTROY != 0 {
            if seq_le(self.ack, h.seq) {
                self.close(Some(UdxError::ConnectionReset));
            }
            return;
        }
        self.on_ack(&h, d, now);
        if h.kind & header::HEARTBEAT != 0 {
            self.ack_needed = true;
        }
        if h.kind & header::MESSAGE != 0 {
            self.events
                .push_back(StreamEvent::Message(payload.to_vec()));
        }
        if h.kind & (header::DATA | header::END) != 0 {
            self.on_data(&h, payload);
            self.ack_needed = true;
        }
        self.maybe_finish();
        self.fill(now);
    }

    fn on_data(&mut self, h: &Header, payload: &[u8]) {
        if seq_lt(h.seq, self.ack) {
            return; // duplicate: re-acked
        }
        let off = h.seq.wrapping_sub(self.ack) as u64;
        if off >= MAX_OOO {
            return;
        }
        if off == 0 && self.ooo.is_empty() {
            // in-order fast path: straight into the read ring
            self.deliver(h.kind, payload);
            return;
        }
        let key = self.ack64 + off;
        self.ooo
            .entry(key)
            .or_insert_with(|| (h.kind, payload.to_vec()));
        while let Some((kind, data)) = self.ooo.remove(&self.ack64) {
            self.deliver(kind, &data);
        }
    }

    fn deliver(&mut self, kind: u8, data: &[u8]) {
        self.ack = self.ack.wrapping_add(1);
        self.ack64 += 1;
        if kind & header::DATA != 0 && !data.is_empty() {
            self.rbuf.extend(data);
            self.readable = true;
        }
        if kind & header::END != 0 && !self.remote_ended {
            self.remote_ended = true;
            self.events.push_back(StreamEvent::End);
        }
    }

    /// Index of the in-flight packet with sequence number `seq`.
    fn index_of(&self, seq: u32) -> Option<usize> {
        let front = self.inflight.front()?.seq;
        let i = seq.wrapping_sub(front) as usize;
        (i < self.inflight.len()).then_some(i)
    }

    fn on_ack(&mut self, h: &Header, d: &[u8], now: Instant) {
        if !seq_le(self.remote_acked, h.ack) || !seq_le(h.ack, self.seq) {
            return;
        }
        self.send_rwnd = h.rwnd;
        let mut progressed = false;
        let mut acked_sacked = 0u64;
        // one RTT sample per ACK, from the newest newly acked first transmission
        let mut rtt_from: Option<Instant> = None;
        while let Some(p) = self.inflight.front() {
            if !seq_lt(p.seq, h.ack) {
                break;
            }
            let Some(p) = self.inflight.pop_front() else {
                break;
            };
            if p.sacked {
                self.sacked = self.sacked.saturating_sub(1);
            } else {
                if p.transmissions == 1 {
                    rtt_from = Some(p.sent_at);
                }
                self.rate.on_delivered(&p.rate, p.sent_at);
                acked_sacked += 1;
            }
            self.rack_update(p.sent_at, p.transmissions);
            progressed = true;
        }
        if progressed {
            let keep_from = self.inflight.front().map_or(self.sent_end, |p| p.off);
            ring::drop_front(
                &mut self.sbuf,
                keep_from.saturating_sub(self.sbuf_base) as usize,
            );
            self.sbuf_base = self.sbuf_base.max(keep_from);
        }
        let rtt = rtt_from.map(|t| now.saturating_duration_since(t));
        if let Some(r) = rtt {
            self.rtt_sample(r);
        }
        self.remote_acked = h.ack;
        let mut sacked_any = false;
        if h.kind & header::SACK != 0 {
            let raw = d.get(HEADER_SIZE..).unwrap_or(&[]);
            let l = if h.data_offset > 0 && (h.data_offset as usize) < raw.len() {
                h.data_offset as usize
            } else {
                raw.len()
            };
            for b in raw[..l].chunks_exact(8) {
                let s = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let e = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                if !(seq_le(self.remote_acked, s) && seq_lt(s, e) && seq_le(e, self.seq)) {
                    continue;
                }
                let (Some(i), Some(j)) = (self.index_of(s), self.index_of(e.wrapping_sub(1)))
                else {
                    continue;
                };
                for k in i..=j {
                    let p = &mut self.inflight[k];
                    if !p.sacked {
                        p.sacked = true;
                        let (sent_at, tx, rate) = (p.sent_at, p.transmissions, p.rate);
                        self.sacked += 1;
                        acked_sacked += 1;
                        sacked_any = true;
                        self.rate.on_delivered(&rate, sent_at);
                        self.rack_update(sent_at, tx);
                    }
                }
            }
        }
        if let Some(r) = self.recovery_until {
            if seq_lt(r, self.remote_acked) {
                self.recovery_until = None;
                self.ca = CaState::Open;
            }
        }
        // Without SACK blocks every delivered packet is cumulative, so nothing below it can be
        // outstanding: loss detection only has work to do when SACKs arrived.
        let mut losses = 0;
        if sacked_any {
            losses = self.detect_loss(now);
        }
        let rs = self
            .rate
            .generate(now, acked_sacked, losses, self.bbr.min_rtt(), rtt);
        let (delivered, pipe) = (self.rate.delivered, self.pipe() as u64);
        self.bbr.on_ack(now, &rs, delivered, pipe, self.ca);
        self.pacer.set_rate(self.bbr.pacing_rate());
        if progressed {
            self.pto_backoff = 0;
            self.rto_deadline = if self.inflight.is_empty() {
                None
            } else {
                Some(now + self.rto)
            };
            self.pto_deadline = if self.inflight.is_empty() {
                None
            } else {
                Some(now + self.pto())
            };
        }
        if let Some(e) = self.end_seq {
            if !self.local_ended && seq_lt(e, self.remote_acked) {
                self.local_ended = true;
            }
        }
    }

    fn rtt_sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((s * 7 + r) / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        self.rto = (s + self.rttvar * 4).clamp(MIN_RTO, MAX_RTO);
    }

    /// RACK state update for a delivered packet (RFC 8985 §6.2 step 2). Only first
    /// transmissions count: UDX has no timestamps to tell which copy of a retransmitted packet
    /// arrived, and the RFC's "RTT < min_rtt" test misfires once the original was merely
    /// delayed behind a queue — then the whole window would be declared lost. A lost
    /// retransmission is still found once later new data is delivered, or by TLP / RTO.
    fn rack_update(&mut self, sent_at: Instant, transmissions: u32) {
        if transmissions > 1 {
            return;
        }
        self.rack_xmit = Some(self.rack_xmit.map_or(sent_at, |t| t.max(sent_at)));
    }

    /// RACK (RFC 8985, `rack_detect_loss`): an unacknowledged packet sent more than a
    /// reordering window (min_rtt / 4, at least 1 ms, at most srtt) before the most recently
    /// sent packet that was delivered is lost, and retransmitted right away.
    fn detect_loss(&mut self, now: Instant) -> u64 {
        let Some(xmit) = self.rack_xmit else {
            return 0;
        };
        let ms = Duration::from_millis(1);
        let min_rtt = self.bbr.min_rtt().or(self.srtt).unwrap_or(ms * 100);
        let srtt = self.srtt.unwrap_or(min_rtt);
        let reo = (min_rtt / 4).max(ms).min(srtt.max(ms));
        let Some(cutoff) = xmit.checked_sub(reo) else {
            return 0;
        };
        let mut lost = Vec::new();
        for (i, p) in self.inflight.iter().enumerate() {
            if !p.sacked && p.sent_at <= cutoff {
                lost.push(i);
            }
        }
        if lost.is_empty() {
            return 0;
        }
        self.enter_recovery();
        let n = lost.len() as u64;
        for i in lost {
            self.transmit(i, now);
        }
        n
    }

    fn enter_recovery(&mut self) {
        if self.ca != CaState::Open {
            return;
        }
        self.bbr.save_cwnd();
        self.ca = CaState::Recovery;
        self.recovery_until = Some(self.seq.wrapping_sub(1));
    }

    fn maybe_finish(&mut self) {
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

    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        if self.closed {
            if self.linger_until.is_some_and(|t| t <= now) {
                self.linger_until = None;
            }
            return;
        }
        if let (Some(ka), Some(d)) = (self.keepalive, self.keepalive_deadline) {
            if d <= now {
                if self.connected && self.inflight.is_empty() {
                    let h = self.header(header::HEARTBEAT, self.seq);
                    self.out.push_with(|p| h.write(p));
                }
                self.keepalive_deadline = Some(now + ka);
            }
        }
        if self.rto_deadline.is_some_and(|d| d <= now) {
            let Some(idx) = self.inflight.iter().position(|p| !p.sacked) else {
                self.rto_deadline = None;
                return;
            };
            let head = &mut self.inflight[idx];
            head.rto_count += 1;
            if head.rto_count > MAX_RTO_TIMEOUTS {
                self.close(Some(UdxError::TimedOut));
                return;
            }
            self.bbr.on_rto();
            self.ca = CaState::Loss;
            self.recovery_until = Some(self.seq.wrapping_sub(1));
            self.transmit(idx, now);
            self.rto_deadline = Some(now + self.rto * 2);
            self.pto_deadline = Some(now + self.pto());
        }
        if self.pacing_deadline.is_some_and(|d| d <= now) {
            self.pacing_deadline = None;
        }
        if self.pto_deadline.is_some_and(|d| d <= now) {
            // tail loss probe (`udx_tlp_timeout`): one packet whose ACK brings SACK
            // information for the tail — new data if any is queued (cwnd and pacing ignored),
            // else the highest unacknowledged packet again
            if !self.push_new_packet(now) {
                if let Some(i) = self.inflight.iter().rposition(|p| !p.sacked) {
                    self.transmit(i, now);
                }
            }
            self.pto_backoff += 1;
            self.pto_deadline = if self.inflight.is_empty() {
                None
            } else {
                Some(now + self.pto())
            };
        }
        self.fill(now);
    }
}
