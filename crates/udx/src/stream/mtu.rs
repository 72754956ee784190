//! In-band path-MTU probing (RFC 8899 style) as libudx does it (`libudx src/udx.c`:
//! `mtu_probeify_packet`, `mtu_unprobeify_packet`, the MTU part of `ack_packet`,
//! `udx_stream_connect`, `udx_stream_change_remote`; constants in `include/udx.h`).
//!
//! MTU values are IP packet sizes. A stream starts at [`MTU_BASE`] (1200: 1152-byte payloads
//! over IPv4). The first acknowledged packet moves it from BASE to SEARCH and asks for a probe
//! of the base size (confirming it); every acknowledged probe raises the MTU to the probe's
//! size and asks for the next one, [`MTU_STEP`] bytes larger, up to the path's maximum. A
//! probe is an ordinary new DATA packet with zero padding between header and payload
//! (`data_offset` = padding length, at most 255) so the IP packet reaches the probe size.
//! A lost probe is resent without padding; after [`MTU_MAX_PROBES`] probes without an
//! acknowledged one the search ends at the current MTU (SEARCH_COMPLETE). libudx has no
//! periodic re-search and handles no ICMP errors: with don't-fragment set, an oversized probe
//! is dropped (by the kernel with EMSGSIZE, or on the path) and simply counts as lost.

use super::Stream;
use crate::header::HEADER_SIZE;

/// `UDX_MTU_BASE`: every path is assumed to carry this.
pub const MTU_BASE: u16 = 1200;
/// `UDX_MTU_MAX`: the search stops here.
pub const MTU_MAX: u16 = 1500;
/// `UDX_MTU_STEP`
pub const MTU_STEP: u16 = 32;
/// `UDX_MTU_MAX_PROBES`
pub const MTU_MAX_PROBES: u32 = 3;
/// IPv4 + UDP + UDX headers (`UDX_IPV4_HEADER_SIZE`).
const IPV4_OVERHEAD: usize = 20 + 8 + HEADER_SIZE;
/// IPv6 + UDP + UDX headers (`UDX_IPV6_HEADER_SIZE`).
const IPV6_OVERHEAD: usize = 40 + 8 + HEADER_SIZE;

/// `UDX_MTU_STATE_*` (libudx also defines ERROR, which nothing sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtuState {
    /// Nothing acknowledged yet.
    Base,
    /// Probing for a larger MTU.
    Search,
    /// Done: the maximum was reached, probes kept failing, or probing is disabled.
    SearchComplete,
}

#[derive(Debug)]
pub(super) struct Mtu {
    /// the confirmed MTU (IP packet bytes)
    pub(super) mtu: u16,
    pub(super) state: MtuState,
    probe_size: u16,
    /// probes sent since the last acknowledged one
    probe_count: u32,
    probe_wanted: bool,
    max: u16,
    ipv6: bool,
}

impl Mtu {
    pub(super) fn new() -> Self {
        Mtu {
            mtu: MTU_BASE,
            state: MtuState::Base,
            probe_size: MTU_BASE,
            probe_count: 0,
            probe_wanted: false,
            max: MTU_MAX,
            ipv6: false,
        }
    }

    /// Back to the base MTU (`udx_stream_change_remote`); keeps the maximum and family.
    pub(super) fn reset(&mut self) {
        let (max, ipv6) = (self.max, self.ipv6);
        *self = Mtu::new();
        self.max = max;
        self.ipv6 = ipv6;
        if max <= MTU_BASE {
            self.state = MtuState::SearchComplete;
        }
    }

    /// The OS's path MTU towards the peer (`udx__get_link_mtu` in `udx_stream_connect`):
    /// `None` = unknown (search up to [`MTU_MAX`]); at or below [`MTU_BASE`] disables probing.
    pub(super) fn set_path_mtu(&mut self, os_mtu: Option<u32>) {
        match os_mtu {
            Some(m) if m <= MTU_BASE as u32 => {
                self.max = m.max(1) as u16;
                self.state = MtuState::SearchComplete;
                self.probe_wanted = false;
            }
            Some(m) => self.max = m.min(MTU_MAX as u32) as u16,
            None => self.max = MTU_MAX,
        }
        self.probe_size = self.probe_size.min(self.max.max(MTU_BASE));
    }

    pub(super) fn set_ipv6(&mut self, ipv6: bool) {
        self.ipv6 = ipv6;
    }

    fn overhead(&self) -> usize {
        if self.ipv6 {
            IPV6_OVERHEAD
        } else {
            IPV4_OVERHEAD
        }
    }

    /// Payload bytes per packet at the current MTU (`udx__max_payload`).
    pub(super) fn max_payload(&self) -> usize {
        (self.mtu as usize).saturating_sub(self.overhead()).max(1)
    }

    /// Should the next new DATA packet of `udx_len` bytes (header + payload) be a probe, and
    /// with how much padding (`mtu_probeify_packet`): only if a probe is wanted and at most
    /// 255 bytes of padding bring it to the probe size.
    pub(super) fn probe_padding(&self, udx_len: usize) -> Option<u8> {
        if !self.probe_wanted || self.state != MtuState::Search {
            return None;
        }
        let ip_len = udx_len + self.overhead() - HEADER_SIZE;
        let pad = (self.probe_size as usize).checked_sub(ip_len)?;
        u8::try_from(pad).ok()
    }

    /// A probe went out (`send_new_packet`: `mtu_probe_count++`).
    pub(super) fn on_probe_sent(&mut self) {
        self.probe_count += 1;
        self.probe_wanted = false;
    }

    /// A probe was declared lost and is resent unpadded (`mtu_unprobeify_packet`).
    pub(super) fn on_probe_lost(&mut self) {
        if self.state == MtuState::Search {
            if self.probe_count >= MTU_MAX_PROBES {
                self.state = MtuState::SearchComplete;
            } else {
                self.probe_wanted = true;
            }
        }
    }

    /// A packet was acknowledged (cumulatively or by SACK; `ack_packet`). Returns true if the
    /// MTU changed.
    pub(super) fn on_acked(&mut self, was_probe: bool) -> bool {
        let mut changed = false;
        if self.state == MtuState::Search && self.probe_count > 0 && was_probe {
            self.probe_count = 0;
            changed = self.mtu != self.probe_size;
            self.mtu = self.probe_size;
            if self.probe_size >= self.max {
                self.state = MtuState::SearchComplete;
            } else {
                self.probe_size = (self.probe_size + MTU_STEP).min(self.max);
                self.probe_wanted = true;
            }
        }
        if self.state == MtuState::Base {
            self.state = MtuState::Search;
            self.probe_wanted = true;
        }
        changed
    }
}

impl Stream {
    /// The stream's current path MTU (IP packet bytes; `udx_stream_get_mtu`). Payloads are
    /// this minus the IP/UDP/UDX headers.
    pub fn mtu(&self) -> u16 {
        self.pmtu.mtu
    }

    pub fn mtu_state(&self) -> MtuState {
        self.pmtu.state
    }

    /// The OS's path MTU towards the peer, as `udx_stream_connect` reads it (`IP_MTU` on a
    /// connected socket): probing stops there, or never starts at or below [`MTU_BASE`];
    /// `None` = unknown (probe up to [`MTU_MAX`]). A transport that cannot set
    /// don't-fragment should pass `Some(MTU_BASE)`.
    pub fn set_path_mtu(&mut self, os_mtu: Option<u32>) {
        self.pmtu.set_path_mtu(os_mtu);
    }

    /// The peer is reached over IPv6 (40-byte IP header: 20 bytes less payload per MTU).
    pub fn set_ipv6(&mut self, ipv6: bool) {
        self.pmtu.set_ipv6(ipv6);
        self.on_mtu_changed();
    }

    /// `ack_packet`'s MTU part for a newly acknowledged packet.
    pub(super) fn mtu_on_acked(&mut self, was_probe: bool) {
        if self.pmtu.on_acked(was_probe) {
            self.on_mtu_changed();
        }
    }

    /// New packets use the new payload size; pacing and BBR's byte rates follow it.
    pub(super) fn on_mtu_changed(&mut self) {
        let mss = self.mss();
        self.bbr.set_mss(mss);
        self.pacer.set_mss(mss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_steps_to_the_max_and_gives_up_after_three_lost_probes() {
        let mut m = Mtu::new();
        assert_eq!(m.max_payload(), 1152);
        assert_eq!(
            m.probe_padding(1172),
            None,
            "no probing before the first ACK"
        );
        m.on_acked(false);
        assert_eq!(m.state, MtuState::Search);
        // the first probe confirms the base size: a full packet needs no padding
        assert_eq!(m.probe_padding(20 + 1152), Some(0));
        assert_eq!(
            m.probe_padding(20 + 100),
            None,
            "more than 255 bytes of padding"
        );
        m.on_probe_sent();
        assert!(!m.on_acked(true));
        assert_eq!(m.probe_padding(20 + 1152), Some(32));
        for want in (1232..=1488).step_by(32).chain([1500]) {
            m.on_probe_sent();
            assert!(m.on_acked(true));
            assert_eq!(m.mtu, want);
        }
        assert_eq!(m.state, MtuState::SearchComplete);
        assert_eq!(m.max_payload(), 1452);

        let mut m = Mtu::new();
        m.on_acked(false);
        m.on_probe_sent();
        m.on_acked(true);
        for _ in 0..3 {
            assert!(m.probe_padding(1172).is_some());
            m.on_probe_sent();
            m.on_probe_lost();
        }
        assert_eq!(m.state, MtuState::SearchComplete);
        assert_eq!(m.mtu, 1200);

        let mut m = Mtu::new();
        m.set_path_mtu(Some(1200));
        m.on_acked(false);
        assert_eq!(m.state, MtuState::SearchComplete);
        m.set_path_mtu(Some(1300));
        m.reset();
        m.on_acked(false);
        m.set_ipv6(true);
        assert_eq!(m.max_payload(), 1132);
    }
}
