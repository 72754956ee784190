//! The handshake payload carried inside Noise messages (`hyperdht lib/messages.js: noisePayload`,
//! with `holepunchInfo`, `udxInfo`, `secretStreamInfo`, `relayThroughInfo`). Version 1; other
//! versions decode to an empty payload carrying just the version, like upstream.

use std::net::{SocketAddrV4, SocketAddrV6};

use hyperdht_encoding::{Codec, DecodeError, Reader, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayInfo {
    pub relay_address: SocketAddrV4,
    pub peer_address: SocketAddrV4,
}

impl Codec for RelayInfo {
    fn encode(&self, w: &mut Writer) {
        w.ipv4_address(&self.relay_address);
        w.ipv4_address(&self.peer_address);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RelayInfo {
            relay_address: r.ipv4_address()?,
            peer_address: r.ipv4_address()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolepunchInfo {
    pub id: u64,
    pub relays: Vec<RelayInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdxInfo {
    pub version: u64,
    pub reusable_socket: bool,
    pub id: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayThroughInfo {
    pub version: u64,
    pub public_key: [u8; 32],
    pub token: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoisePayload {
    pub version: u64,
    pub error: u64,
    pub firewall: u64,
    pub holepunch: Option<HolepunchInfo>,
    pub addresses4: Vec<SocketAddrV4>,
    pub addresses6: Vec<SocketAddrV6>,
    pub udx: Option<UdxInfo>,
    /// `secretStream: {version}`; present means the peer speaks secret-stream v1.
    pub secret_stream: Option<u64>,
    pub relay_through: Option<RelayThroughInfo>,
    pub relay_addresses: Option<Vec<SocketAddrV4>>,
}

impl Default for NoisePayload {
    fn default() -> Self {
        NoisePayload {
            version: 1,
            error: 0,
            firewall: 0,
            holepunch: None,
            addresses4: Vec::new(),
            addresses6: Vec::new(),
            udx: None,
            secret_stream: None,
            relay_through: None,
            relay_addresses: None,
        }
    }
}

impl Codec for NoisePayload {
    fn encode(&self, w: &mut Writer) {
        let mut flags = 0u64;
        if self.holepunch.is_some() {
            flags |= 1;
        }
        if !self.addresses4.is_empty() {
            flags |= 2;
        }
        if !self.addresses6.is_empty() {
            flags |= 4;
        }
        if self.udx.is_some() {
            flags |= 8;
        }
        if self.secret_stream.is_some() {
            flags |= 16;
        }
        if self.relay_through.is_some() {
            flags |= 32;
        }
        if self.relay_addresses.is_some() {
            flags |= 64;
        }
        w.uint(1);
        w.uint(flags);
        w.uint(self.error);
        w.uint(self.firewall);
        if let Some(h) = &self.holepunch {
            w.uint(h.id);
            w.array(&h.relays);
        }
        if !self.addresses4.is_empty() {
            w.ipv4_array(&self.addresses4);
        }
        if !self.addresses6.is_empty() {
            w.uint(self.addresses6.len() as u64);
            for a in &self.addresses6 {
                w.ipv6_address(a);
            }
        }
        if let Some(u) = &self.udx {
            w.uint(1);
            w.uint(u64::from(u.reusable_socket));
            w.uint(u.id);
            w.uint(u.seq);
        }
        if self.secret_stream.is_some() {
            w.uint(1);
        }
        if let Some(t) = &self.relay_through {
            w.uint(1);
            w.uint(0);
            w.fixed32(&t.public_key);
            w.fixed32(&t.token);
        }
        if let Some(r) = &self.relay_addresses {
            w.ipv4_array(r);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.uint()?;
        if version != 1 {
            return Ok(NoisePayload {
                version,
                ..Default::default()
            });
        }
        let flags = r.uint()?;
        let error = r.uint()?;
        let firewall = r.uint()?;
        let holepunch = if flags & 1 != 0 {
            Some(HolepunchInfo {
                id: r.uint()?,
                relays: r.array()?,
            })
        } else {
            None
        };
        let addresses4 = if flags & 2 != 0 {
            r.ipv4_array()?
        } else {
            Vec::new()
        };
        let addresses6 = if flags & 4 != 0 {
            let n = r.array_len()?;
            let mut v = Vec::with_capacity(n.min(r.remaining() / 18 + 1));
            for _ in 0..n {
                v.push(r.ipv6_address()?);
            }
            v
        } else {
            Vec::new()
        };
        let udx = if flags & 8 != 0 {
            let version = r.uint()?;
            let features = r.uint()?;
            Some(UdxInfo {
                version,
                reusable_socket: features & 1 != 0,
                id: r.uint()?,
                seq: r.uint()?,
            })
        } else {
            None
        };
        let secret_stream = if flags & 16 != 0 {
            Some(r.uint()?)
        } else {
            None
        };
        let relay_through = if flags & 32 != 0 {
            let version = r.uint()?;
            let _flags = r.uint()?;
            Some(RelayThroughInfo {
                version,
                public_key: r.fixed32()?,
                token: r.fixed32()?,
            })
        } else {
            None
        };
        let relay_addresses = if flags & 64 != 0 {
            Some(r.ipv4_array()?)
        } else {
            None
        };
        Ok(NoisePayload {
            version,
            error,
            firewall,
            holepunch,
            addresses4,
            addresses6,
            udx,
            secret_stream,
            relay_through,
            relay_addresses,
        })
    }
}
