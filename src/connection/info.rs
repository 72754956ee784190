//! What JS reads about an open connection's stream (`rawStream.rtt`, `mtu`, udx-native's
//! counters, the remote address) and how the connection was made (`socket.path`).

use napi_derive::napi;

use super::{lock_stream, NativeConnection};
use crate::path_info::{js_path_info, JsPathInfo};

/// A connection's UDX stream statistics (udx-native stream getters of the same names).
#[napi(object)]
pub struct JsRawStats {
    pub bytes_transmitted: f64,
    pub packets_transmitted: f64,
    pub bytes_received: f64,
    pub packets_received: f64,
    pub retransmits: f64,
    pub rto_count: f64,
    pub fast_recoveries: f64,
    pub cwnd: f64,
    pub inflight: f64,
    /// `UDX_BBR_STATE_*` (0 startup, 1 drain, 2 probe bandwidth, 3 probe RTT)
    pub bbr_state: u32,
    /// bottleneck bandwidth estimate, bytes per second
    pub bbr_bandwidth: f64,
    /// the peer's stream id now (a relay upgrade changes it)
    pub remote_id: u32,
}

impl JsRawStats {
    /// The statistics of `stream` now.
    pub(crate) fn of(stream: &hyperdht_udx::UdxStream) -> JsRawStats {
        let s = stream.stats();
        JsRawStats {
            remote_id: stream.remote_id(),
            bytes_transmitted: s.bytes_transmitted as f64,
            packets_transmitted: s.packets_transmitted as f64,
            bytes_received: s.bytes_received as f64,
            packets_received: s.packets_received as f64,
            retransmits: s.retransmits as f64,
            rto_count: s.rto_count as f64,
            fast_recoveries: s.fast_recoveries as f64,
            cwnd: s.cwnd as f64,
            inflight: s.inflight as f64,
            bbr_state: u32::from(s.bbr_state),
            bbr_bandwidth: s.bbr_bandwidth as f64,
        }
    }
}

#[napi]
impl NativeConnection {
    /// `rawStream.rtt` in milliseconds (0 when unknown).
    #[napi(catch_unwind)]
    pub fn rtt(&self) -> u32 {
        let rtt = self
            .io()
            .and_then(|io| lock_stream(&io.stream).get_ref().rtt());
        rtt.map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32)
    }

    /// The port of the socket the stream lives on when it is not the DHT's (a connection
    /// punched through a RANDOM NAT runs on its birthday socket); null on the DHT socket.
    #[napi(catch_unwind)]
    pub fn local_port(&self) -> Option<u32> {
        let io = self.io()?;
        let addr = lock_stream(&io.stream).get_ref().local_addr()?;
        Some(u32::from(addr.port()))
    }

    /// One line of the UDX stream's protocol state, for diagnosing a stalled transfer (not API).
    #[napi(js_name = "_debugState", catch_unwind)]
    pub fn debug_state(&self) -> Option<String> {
        let r = lock_stream(&self.io()?.stream).get_ref().downgrade();
        r.debug_state()
    }

    /// udx-native's stream counters for `rawStream` (`bytesTransmitted`, `packetsReceived`,
    /// `retransmits`, `rtoCount`, `fastRecoveries`, `cwnd`, `inflight`); null unless open.
    #[napi(catch_unwind)]
    pub fn raw_stats(&self) -> Option<JsRawStats> {
        Some(JsRawStats::of(lock_stream(&self.io()?.stream).get_ref()))
    }

    /// `rawStream.mtu` (starts at 1200 and grows by path-MTU probing, like udx-native).
    #[napi(catch_unwind)]
    pub fn mtu(&self) -> u32 {
        self.io()
            .map_or(0, |io| lock_stream(&io.stream).get_ref().mtu() as u32)
    }

    /// Where the stream's datagrams go now (`rawStream.remoteHost`/`remotePort`: a relayed
    /// connection's relay until an upgrade, then the peer); null before open and after close.
    #[napi(catch_unwind)]
    pub fn remote(&self) -> Option<crate::events::JsAddress> {
        let r = self
            .io()
            .and_then(|io| lock_stream(&io.stream).get_ref().remote())?;
        Some(crate::events::JsAddress {
            host: r.ip().to_string(),
            port: u32::from(r.port()),
        })
    }

    /// How the connection was made (null before it opened).
    #[napi(catch_unwind)]
    pub fn path_info(&self) -> Option<JsPathInfo> {
        let p = self.core.path.get()?;
        let p = p.lock().unwrap_or_else(|e| e.into_inner());
        Some(js_path_info(&p))
    }
}
