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
use crate::header::{self, seq_le, Header};
use crate::pacer::Pacer;
use crate::rate::{PacketRate, RateSampler};
use crate::ring;
use crate::txqueue::TxQueue;
use crate::UdxError;
pub use mtu::{MtuState, MTU_BASE, MTU_MAX};

mod ack;
mod mtu;
mod recv;
mod send;
mod teardown;
mod window;

/// Payload bytes per packet at the base MTU (1200 − IPv4/UDP/UDX overhead); MTU probing
/// raises a stream's payload size from there ([`Stream::mtu`]).
pub const MSS: usize = 1152;
/// What libudx advertises when nothing is buffered (`UDX_DEFAULT_RWND_MAX`).
pub const RWND_MAX: u32 = 4 * 1024 * 1024;
/// Bytes queued beyond the send window before `write` says wait (`UDX_HIGH_WATERMARK`).
pub(crate) const WRITE_SLACK: usize = 256 * 1024;
/// Datagram bytes one [`Stream::fill`] queues before the driver sends them: a window opening
/// wide at once (a large ACK, BBR's start-up) otherwise copied megabytes of packets into the
/// transmit queue, whose buffer then kept that size for the transfer.
pub(crate) const TX_BURST: usize = 256 * 1024;
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

/// What libudx counts per stream (`udx_stream_t`: `bytes_tx`, `packets_tx`, `bytes_rx`,
/// `packets_rx`, `rto_count`, `fast_recovery_count`), read by udx-native's stream getters.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    bytes_tx: u64,
    packets_tx: u64,
    bytes_rx: u64,
    packets_rx: u64,
    rto_count: u64,
    fast_recoveries: u64,
}

/// A stream's statistics, as udx-native's stream getters show them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    /// datagrams and their bytes (headers included) handed to the socket / received
    pub bytes_transmitted: u64,
    pub packets_transmitted: u64,
    pub bytes_received: u64,
    pub packets_received: u64,
    /// packets sent again, retransmission timeouts, entries into fast recovery
    pub retransmits: u64,
    pub rto_count: u64,
    pub fast_recoveries: u64,
    /// congestion window in packets
    pub cwnd: u64,
    /// payload bytes in flight (sent, not acknowledged)
    pub inflight: u64,
    /// BBR's mode as libudx numbers it (`UDX_BBR_STATE_*`: 0 startup, 1 drain, 2 probe
    /// bandwidth, 3 probe RTT)
    pub bbr_state: u8,
    /// BBR's bottleneck bandwidth estimate in bytes per second (`udx_stream_get_bw`)
    pub bbr_bandwidth: u64,
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
    /// marked lost by a retransmission timeout and not sent again yet: not in the pipe,
    /// [`Stream::fill`] retransmits it as the window allows (libudx's `retransmit_queue`)
    lost: bool,
    rate: PacketRate,
    /// an MTU probe (`is_mtu_probe`), padded with `pad` zero bytes after the header
    probe: bool,
    pad: u8,
}

pub struct Stream {
    pub local_id: u32,
    remote_id: u32,
    connected: bool,
    /// path MTU state (`mtu`, `mtu_state`, … in `udx_stream_t`)
    pmtu: mtu::Mtu,
    // sender
    seq: u32,
    remote_acked: u32,
    /// every byte from the oldest unacked packet on: in-flight payloads, then unsent bytes
    sbuf: ring::ByteRing,
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
    /// payload bytes of the selectively acknowledged packets in `inflight`
    sacked_bytes: usize,
    /// in-flight packets marked `lost` (waiting for their retransmission)
    lost: usize,
    bbr: Bbr,
    rate: RateSampler,
    pacer: Pacer,
    pacing_deadline: Option<Instant>,
    ca: CaState,
    recovery_until: Option<u32>,
    /// RACK: send time of the most recently sent packet known delivered
    rack_xmit: Option<Instant>,
    /// the peer's receive window in bytes, and the (seq, ack) of the packet that set it
    /// (TCP's SND.WL1 / SND.WL2, `send_wl1` / `send_wl2` in libudx)
    send_rwnd: u32,
    send_wl1: u32,
    send_wl2: u32,
    /// zero-window probe timer (`zwp_timer`) and how many probes went out in a row
    zwp_deadline: Option<Instant>,
    zwp_backoff: u32,
    /// zero-window probes sent (`zwp_count`)
    pub zwp_count: u64,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    rto_deadline: Option<Instant>,
    pto_deadline: Option<Instant>,
    pto_backoff: u32,
    write_blocked: bool,
    /// [`Stream::fill`] stopped at [`TX_BURST`] with more the windows allow: the driver's
    /// [`Stream::drain_transmit`] packetises the rest once the queue went out
    fill_more: bool,
    // receiver
    ack: u32,
    ack64: u64,
    ooo: BTreeMap<u64, (u8, Vec<u8>)>,
    /// payload bytes in `ooo` plus [`recv::OOO_ENTRY_COST`] per packet
    ooo_bytes: usize,
    /// DATA packets dropped past the receive bound ([`recv::window_slack`])
    recv_dropped: u64,
    /// datagrams we may still send before the peer is heard from; `None` = verified
    unverified_budget: Option<usize>,
    unverified_dropped: u64,
    /// in-order bytes not read yet
    rbuf: ring::ByteRing,
    remote_ended: bool,
    recv_buffered: usize,
    /// our receive window when nothing is buffered (`recv_rwnd_max`)
    rwnd_max: u32,
    /// the window we last put in a header
    advertised_rwnd: u32,
    ack_needed: bool,
    readable: bool,
    // io
    out: TxQueue,
    events: VecDeque<StreamEvent>,
    closed: bool,
    pub retransmits: u64,
    pub packets_sent: u64,
    /// udx-native's stream counters (`bytesTransmitted`, ... see [`Stream::stats`])
    counters: Counters,
    keepalive: Option<Duration>,
    keepalive_deadline: Option<Instant>,
    /// latest time the stream was driven with (for deadlines set without a `now`)
    last_now: Instant,
    linger_until: Option<Instant>,
    /// after our destroy: DESTROYs we may still repeat to a peer that keeps sending, and when
    /// the next may go (see `teardown.rs`)
    resets_left: u8,
    next_reset: Option<Instant>,
}

impl Stream {
    pub fn new(local_id: u32) -> Self {
        Self::new_at(local_id, Instant::now())
    }

    /// [`Stream::new`] with the clock at `now` (virtual-clock simulations).
    pub fn new_at(local_id: u32, now: Instant) -> Self {
        Stream {
            local_id,
            remote_id: 0,
            connected: false,
            pmtu: mtu::Mtu::new(),
            seq: 0,
            remote_acked: 0,
            sbuf: ring::ByteRing::new(),
            sbuf_base: 0,
            sent_end: 0,
            inflight: VecDeque::new(),
            end_queued: false,
            end_seq: None,
            local_ended: false,
            sacked: 0,
            sacked_bytes: 0,
            lost: 0,
            bbr: Bbr::new(now, MSS),
            rate: RateSampler::new(now),
            pacer: Pacer::new(now, MSS),
            pacing_deadline: None,
            ca: CaState::Open,
            recovery_until: None,
            rack_xmit: None,
            send_rwnd: RWND_MAX,
            send_wl1: 0,
            send_wl2: 0,
            zwp_deadline: None,
            zwp_backoff: 0,
            zwp_count: 0,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: MIN_RTO,
            rto_deadline: None,
            pto_deadline: None,
            pto_backoff: 0,
            write_blocked: false,
            fill_more: false,
            ack: 0,
            ack64: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            recv_dropped: 0,
            unverified_budget: None,
            unverified_dropped: 0,
            rbuf: ring::ByteRing::new(),
            remote_ended: false,
            recv_buffered: 0,
            rwnd_max: RWND_MAX,
            advertised_rwnd: RWND_MAX,
            ack_needed: false,
            readable: false,
            out: TxQueue::default(),
            events: VecDeque::new(),
            closed: false,
            retransmits: 0,
            packets_sent: 0,
            counters: Counters::default(),
            keepalive: None,
            keepalive_deadline: None,
            last_now: now,
            linger_until: None,
            resets_left: 0,
            next_reset: None,
        }
    }

    /// `udx_stream_set_keepalive`: while idle (everything acked) send a HEARTBEAT every `ka`.
    pub fn set_keepalive(&mut self, ka: Option<Duration>, now: Instant) {
        self.keepalive = ka.filter(|d| !d.is_zero());
        self.keepalive_deadline = self.keepalive.map(|d| now + d);
    }

    /// The peer's stream id (0 until connected).
    pub fn remote_id(&self) -> u32 {
        self.remote_id
    }

    /// `udx_stream_change_remote`: new packets go to the peer's stream `remote_id`.
    /// Like libudx, the MTU search starts over at the base MTU.
    pub fn change_remote(&mut self, remote_id: u32) {
        self.remote_id = remote_id;
        self.pmtu.reset();
        self.on_mtu_changed();
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
    /// Makes the congestion controller's random choices reproducible (simulations).
    #[cfg(test)]
    pub(crate) fn seed(&mut self, seed: u32) {
        self.bbr.seed(seed);
    }

    /// Bytes of the datagrams waiting for [`Stream::drain_transmit`] (memory tests).
    #[cfg(test)]
    pub(crate) fn transmit_queue_bytes(&self) -> usize {
        self.out.bytes()
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
        self.inflight
            .len()
            .saturating_sub(self.sacked)
            .saturating_sub(self.lost)
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
    /// [`Stream::is_write_blocked`] for a writer about to wait: a [`StreamEvent::Drain`] follows
    /// once it is not (the window can shrink under a writer whose last write was taken).
    pub fn wait_writable(&mut self) -> bool {
        let blocked = self.is_write_blocked();
        self.write_blocked |= blocked;
        blocked
    }

    /// libudx's write back-pressure (`on_bytes_acked`): wait while the bytes written and not
    /// yet acknowledged, selectively or not, reach `WRITE_SLACK` plus the send window
    /// (before: 4 MiB *unsent* on top of the window, 8 MiB held per bulk sender where libudx
    /// holds 4.25). SACKed bytes do not count, as in libudx: behind a lost packet the
    /// buffer keeps them until the retransmit lands, and counting them stalled the writer for
    /// a round trip per loss (a 64 MiB transfer through a 5%-loss proxy took 6× as long).
    pub fn is_write_blocked(&self) -> bool {
        let cwnd = (self.bbr.cwnd() as usize).saturating_mul(self.mss());
        let window = cwnd.min(self.send_rwnd as usize);
        self.sbuf.len().saturating_sub(self.sacked_bytes) >= WRITE_SLACK + window
    }

    /// udx-native's stream statistics (`bytesTransmitted`, `packetsReceived`, `rtoCount`, ...).
    pub fn stats(&self) -> StreamStats {
        let c = &self.counters;
        StreamStats {
            bytes_transmitted: c.bytes_tx,
            packets_transmitted: c.packets_tx,
            bytes_received: c.bytes_rx,
            packets_received: c.packets_rx,
            retransmits: self.retransmits,
            rto_count: c.rto_count,
            fast_recoveries: c.fast_recoveries,
            cwnd: self.bbr.cwnd(),
            inflight: self.inflight.iter().map(|p| u64::from(p.len)).sum(),
            bbr_state: match self.bbr.mode() {
                crate::bbr::Mode::Startup => 0,
                crate::bbr::Mode::Drain => 1,
                crate::bbr::Mode::ProbeBw => 2,
                crate::bbr::Mode::ProbeRtt => 3,
            },
            bbr_bandwidth: (self.bbr.bandwidth() * self.mss() as f64) as u64,
        }
    }

    /// One line of sender/receiver state for diagnosing a stalled transfer (tests print it).
    pub fn debug_state(&self) -> String {
        format!(
            "seq={} remote_acked={} ack={} inflight={} sacked={}/{}B sbuf={} unsent={} out={} \
             cwnd={} rwnd={} adv={} blocked={}/{} fill_more={} ca={:?} rto={:?} deadlines \
             rto={:?} pto={:?} zwp={:?} pacing={:?} end_queued={} end_seq={:?} ended={}/{} \
             rbuf={} ooo={}/{}B recv_buffered={} recv_dropped={} retransmits={} closed={}",
            self.seq,
            self.remote_acked,
            self.ack,
            self.inflight.len(),
            self.sacked,
            self.sacked_bytes,
            self.sbuf.len(),
            self.unsent_bytes(),
            self.out.len(),
            self.bbr.cwnd(),
            self.send_rwnd,
            self.advertised_rwnd,
            self.write_blocked,
            self.is_write_blocked(),
            self.fill_more,
            self.ca,
            self.rto,
            self.rto_deadline
                .map(|d| d.saturating_duration_since(self.last_now)),
            self.pto_deadline
                .map(|d| d.saturating_duration_since(self.last_now)),
            self.zwp_deadline
                .map(|d| d.saturating_duration_since(self.last_now)),
            self.pacing_deadline
                .map(|d| d.saturating_duration_since(self.last_now)),
            self.end_queued,
            self.end_seq,
            self.local_ended,
            self.remote_ended,
            self.rbuf.len(),
            self.ooo.len(),
            self.ooo_bytes,
            self.recv_buffered,
            self.recv_dropped,
            self.retransmits,
            self.closed,
        )
    }

    /// Our next sequence number.
    pub fn next_seq(&self) -> u32 {
        self.seq
    }

    /// The peer acknowledged everything we sent before sequence number `seq`.
    pub fn acked_before(&self, seq: u32) -> bool {
        crate::header::seq_le(seq, self.remote_acked)
    }

    /// After a remote change at `change_seq` (our next sequence number then), the peer's first
    /// datagram on the new path carrying `new_path_seq`: true once the peer acknowledged
    /// everything we sent before the change and we received everything it sent before
    /// `new_path_seq` — no datagram of either side needs the old path any more.
    pub fn old_path_done(&self, change_seq: u32, new_path_seq: u32) -> bool {
        self.acked_before(change_seq) && crate::header::seq_le(new_path_seq, self.ack)
    }

    /// Bytes the application holds outside the stream (lowers the advertised window on top of
    /// what [`Stream::readable_bytes`] holds).
    pub fn set_recv_buffered(&mut self, n: usize) {
        self.recv_buffered = n;
        self.check_window_update();
    }

    /// Bytes allocated for this stream's buffers: (send side: the send ring, in-flight records
    /// and queued datagrams; receive side: the receive ring). A diagnostic for memory tests.
    pub fn buffer_capacity(&self) -> (usize, usize) {
        let send = self.sbuf.capacity()
            + self.inflight.capacity() * std::mem::size_of::<Sent>()
            + self.out.capacity();
        (send, self.rbuf.capacity())
    }

    /// In-order bytes waiting for the reader.
    pub fn readable_bytes(&self) -> usize {
        self.rbuf.len()
    }

    /// The readable bytes as (up to) two slices, oldest first; follow with [`Stream::consume`].
    pub fn read_slices(&self) -> (&[u8], &[u8]) {
        self.rbuf.front_slices()
    }

    /// Copies the oldest readable bytes into `out` (as many as fit); follow with
    /// [`Stream::consume`].
    pub fn peek_into(&self, out: &mut [u8]) -> usize {
        self.rbuf.peek_into(out)
    }

    /// Marks `n` readable bytes as read.
    pub fn consume(&mut self, n: usize) {
        self.rbuf.drop_front(n);
        if self.closed {
            self.rbuf.trim_idle();
        }
        self.check_window_update();
    }

    /// Everything written was acknowledged: the send-side buffers of the last burst go back,
    /// beyond what a small message needs ([`ring::IDLE_KEEP`]).
    fn trim_send_idle(&mut self) {
        self.sbuf.trim_idle();
        self.out.trim(ring::IDLE_KEEP);
        if self.inflight.capacity() > 256 {
            self.inflight = VecDeque::new();
        }
    }

    /// Output is waiting for [`Stream::drain_transmit`] (e.g. the window update queued by
    /// [`Stream::consume`] after the reader drained a full receive buffer).
    pub fn wants_transmit(&self) -> bool {
        (self.ack_needed && self.connected) || !self.out.is_empty()
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
        if self.out.is_empty() && std::mem::take(&mut self.fill_more) {
            self.fill(self.last_now);
        }
        self.emit_pending_ack();
        let d = self.pop_budgeted();
        match &d {
            Some(d) => {
                self.counters.packets_tx += 1;
                self.counters.bytes_tx += d.len() as u64;
            }
            None => self.maybe_finish(),
        }
        d
    }

    /// Hands every outgoing datagram to `send` as GSO-shaped runs `(bytes, segment_size)` (see
    /// [`TxQueue::drain_runs`]), pending ACK included.
    pub fn drain_transmit(&mut self, max_segments: usize, mut send: impl FnMut(&[u8], usize)) {
        self.emit_pending_ack();
        let (mut bytes, mut packets) = (0u64, 0u64);
        let mut send = |d: &[u8], seg: usize| {
            bytes += d.len() as u64;
            packets += d.len().div_ceil(seg.max(1)) as u64;
            send(d, seg)
        };
        loop {
            if self.unverified_budget.is_some() {
                while let Some(d) = self.pop_budgeted() {
                    send(&d, d.len());
                }
            } else {
                self.out.drain_runs(max_segments, &mut send);
            }
            if !std::mem::take(&mut self.fill_more) {
                break;
            }
            self.fill(self.last_now);
        }
        self.counters.bytes_tx += bytes;
        self.counters.packets_tx += packets;
        self.maybe_finish();
    }

    /// Limits what this stream sends before the peer is heard from to `budget` datagrams; the
    /// rest is dropped as if lost (retransmitted normally once the peer speaks). For a stream
    /// connected to an address nobody proved to own (a server answering a handshake that
    /// claims a client address): a spoofed handshake then makes us send at most `budget`
    /// datagrams to its victim instead of a retransmit series (hyperdht#296's class).
    pub fn limit_until_verified(&mut self, budget: usize) {
        self.unverified_budget = Some(budget);
    }

    /// Datagrams dropped while waiting for the peer to be heard from.
    pub fn unverified_dropped(&self) -> u64 {
        self.unverified_dropped
    }

    fn pop_budgeted(&mut self) -> Option<Vec<u8>> {
        let d = self.out.pop_front()?;
        match &mut self.unverified_budget {
            Some(0) => {
                self.unsent(&d);
                while let Some(d) = self.out.pop_front() {
                    self.unsent(&d);
                }
                None
            }
            Some(b) => {
                *b -= 1;
                Some(d)
            }
            None => Some(d),
        }
    }

    /// A datagram the unverified budget dropped: a DATA or END packet in it counts as never
    /// sent (so it is not a retransmission when it goes, and goes as soon as the peer speaks).
    fn unsent(&mut self, d: &[u8]) {
        self.unverified_dropped += 1;
        let Some((h, _)) = Header::parse(d) else {
            return;
        };
        if h.kind & (header::DATA | header::END) == 0 {
            return;
        }
        if let Some(p) = self.inflight.iter_mut().find(|p| p.seq == h.seq) {
            if p.transmissions > 1 {
                self.retransmits = self.retransmits.saturating_sub(1);
            }
            p.transmissions = p.transmissions.saturating_sub(1);
            self.packets_sent = self.packets_sent.saturating_sub(1);
        }
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
            self.zwp_deadline,
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
        self.sbuf.append(data);
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

    /// A header carrying our current ack and receive window (`udx_write_header`); remembers
    /// the advertised window (see [`Stream::consume`]).
    fn header(&mut self, kind: u8, seq: u32) -> Header {
        Header {
            kind,
            data_offset: 0,
            remote_id: self.remote_id,
            rwnd: self.advertise_rwnd(),
            seq,
            ack: self.ack,
        }
    }

    pub fn handle_datagram(&mut self, d: &[u8], now: Instant) {
        self.last_now = self.last_now.max(now);
        self.counters.packets_rx += 1;
        self.counters.bytes_rx += d.len() as u64;
        let Some((h, payload)) = Header::parse(d) else {
            return;
        };
        // the peer answered: its address is proven (a closed stream's DESTROY repeats go out
        // now too), and what the budget dropped is resent below once this ACK is taken
        let resend_dropped = self.unverified_budget.take().is_some() && self.unverified_dropped > 0;
        if self.closed {
            self.after_close(&h, now, resend_dropped);
            return;
        }
        if h.kind & header::DESTROY != 0 {
            if seq_le(self.ack, h.seq) {
                self.close(Some(UdxError::ConnectionReset));
            }
            return;
        }
        self.on_ack(&h, d, now);
        if resend_dropped {
            self.mark_unverified_drops_lost();
        }
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
            // with everything in flight SACKed there is nothing to retransmit, but the timers
            // below are still handled in this call (returning here left a due loss-probe
            // deadline behind, so the driver woke again at once)
            if let Some(idx) = self.inflight.iter().position(|p| !p.sacked) {
                let head = &mut self.inflight[idx];
                head.rto_count += 1;
                if head.rto_count > MAX_RTO_TIMEOUTS {
                    self.close(Some(UdxError::TimedOut));
                    return;
                }
                self.bbr.on_rto();
                self.counters.rto_count += 1;
                self.ca = CaState::Loss;
                self.recovery_until = Some(self.seq.wrapping_sub(1));
                self.mark_lost_on_rto(idx, now);
                // the head goes now whatever the window; the fill below retransmits the rest
                // as the reduced window allows
                self.transmit(idx, now);
                self.rto_deadline = Some(now + self.rto * 2);
                self.pto_deadline = Some(now + self.pto());
            } else {
                self.rto_deadline = None;
            }
        }
        if self.pacing_deadline.is_some_and(|d| d <= now) {
            self.pacing_deadline = None;
        }
        if self.zwp_deadline.is_some_and(|d| d <= now) {
            self.zero_window_probe(now);
        }
        if self.pto_deadline.is_some_and(|d| d <= now) {
            // tail loss probe (`udx_tlp_timeout`): one packet whose ACK brings SACK
            // information for the tail — new data if any is queued (cwnd and pacing ignored),
            // else the highest unacknowledged packet again. Unlike libudx the new packet must
            // fit the peer's receive window: a reader that stopped reading must stall us.
            if !(self.rwnd_allows() && self.push_new_packet(now, false)) {
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
