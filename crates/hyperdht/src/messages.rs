//! Record messages (`hyperdht lib/messages.js`: peer, announce, lookupRawReply, mutable*).

use std::net::SocketAddrV4;

use hyperdht_encoding::{Codec, DecodeError, Reader, Writer};

/// `peer`: a public key and its relay addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub public_key: [u8; 32],
    pub relay_addresses: Vec<SocketAddrV4>,
}

impl Codec for Peer {
    fn encode(&self, w: &mut Writer) {
        w.fixed32(&self.public_key);
        w.ipv4_array(&self.relay_addresses);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Peer {
            public_key: r.fixed32()?,
            relay_addresses: r.ipv4_array()?,
        })
    }
}

/// `announce` (ANNOUNCE and UNANNOUNCE values).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Announce {
    pub peer: Option<Peer>,
    pub refresh: Option<[u8; 32]>,
    pub signature: Option<[u8; 64]>,
    /// Written only when non-zero.
    pub bump: u64,
}

impl Codec for Announce {
    fn encode(&self, w: &mut Writer) {
        let mut flags = 0u64;
        if self.peer.is_some() {
            flags |= 1;
        }
        if self.refresh.is_some() {
            flags |= 2;
        }
        if self.signature.is_some() {
            flags |= 4;
        }
        if self.bump != 0 {
            flags |= 8;
        }
        w.uint(flags);
        if let Some(p) = &self.peer {
            p.encode(w);
        }
        if let Some(r) = &self.refresh {
            w.fixed32(r);
        }
        if let Some(s) = &self.signature {
            w.fixed64(s);
        }
        if self.bump != 0 {
            w.uint(self.bump);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        Ok(Announce {
            peer: if flags & 1 != 0 {
                Some(Peer::decode(r)?)
            } else {
                None
            },
            refresh: if flags & 2 != 0 {
                Some(r.fixed32()?)
            } else {
                None
            },
            signature: if flags & 4 != 0 {
                Some(r.fixed64()?)
            } else {
                None
            },
            bump: if flags & 8 != 0 { r.uint()? } else { 0 },
        })
    }
}

/// `lookupRawReply`: peers, then a trailing bump read only if bytes remain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LookupReply {
    pub peers: Vec<Peer>,
    pub bump: u64,
}

impl LookupReply {
    /// Encodes already-encoded peer records verbatim (`array(raw)`).
    pub fn encode_raw(records: &[&[u8]], bump: u64) -> Vec<u8> {
        let mut w = Writer::new();
        w.uint(records.len() as u64);
        for r in records {
            w.raw(r);
        }
        w.uint(bump);
        w.into_vec()
    }
}

impl Codec for LookupReply {
    fn encode(&self, w: &mut Writer) {
        w.array(&self.peers);
        w.uint(self.bump);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let peers = r.array()?;
        let bump = if r.is_empty() { 0 } else { r.uint()? };
        Ok(LookupReply { peers, bump })
    }
}

/// `mutablePutRequest` (MUTABLE_PUT value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutablePutRequest {
    pub public_key: [u8; 32],
    pub seq: u64,
    pub value: Vec<u8>,
    pub signature: [u8; 64],
}

impl Codec for MutablePutRequest {
    fn encode(&self, w: &mut Writer) {
        w.fixed32(&self.public_key);
        w.uint(self.seq);
        w.buffer(&self.value);
        w.fixed64(&self.signature);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MutablePutRequest {
            public_key: r.fixed32()?,
            seq: r.uint()?,
            value: r.buffer()?.to_vec(),
            signature: r.fixed64()?,
        })
    }
}

/// `mutableGetResponse` (MUTABLE_GET reply value and the stored form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutableGetResponse {
    pub seq: u64,
    pub value: Vec<u8>,
    pub signature: [u8; 64],
}

impl Codec for MutableGetResponse {
    fn encode(&self, w: &mut Writer) {
        w.uint(self.seq);
        w.buffer(&self.value);
        w.fixed64(&self.signature);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MutableGetResponse {
            seq: r.uint()?,
            value: r.buffer()?.to_vec(),
            signature: r.fixed64()?,
        })
    }
}

/// `mutableSignable`: `uint(seq) ‖ buffer(value)`.
pub fn mutable_signable(seq: u64, value: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.uint(seq);
    w.buffer(value);
    w.into_vec()
}

/// Router modes (`hyperdht lib/router.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterMode {
    FromClient,
    FromServer,
    FromRelay,
    FromSecondRelay,
    Reply,
}

impl RouterMode {
    pub fn code(self) -> u64 {
        match self {
            RouterMode::FromClient => 0,
            RouterMode::FromServer => 1,
            RouterMode::FromRelay => 2,
            RouterMode::FromSecondRelay => 3,
            RouterMode::Reply => 4,
        }
    }
    pub fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => RouterMode::FromClient,
            1 => RouterMode::FromServer,
            2 => RouterMode::FromRelay,
            3 => RouterMode::FromSecondRelay,
            4 => RouterMode::Reply,
            _ => return None,
        })
    }
}

/// `handshake` (PEER_HANDSHAKE value). `mode` is kept raw so unknown modes round-trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeMessage {
    pub mode: u64,
    pub noise: Vec<u8>,
    pub peer_address: Option<SocketAddrV4>,
    pub relay_address: Option<SocketAddrV4>,
}

impl Codec for HandshakeMessage {
    fn encode(&self, w: &mut Writer) {
        let flags =
            u64::from(self.peer_address.is_some()) | (u64::from(self.relay_address.is_some()) << 1);
        w.uint(flags);
        w.uint(self.mode);
        w.buffer(&self.noise);
        if let Some(a) = &self.peer_address {
            w.ipv4_address(a);
        }
        if let Some(a) = &self.relay_address {
            w.ipv4_address(a);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        Ok(HandshakeMessage {
            mode: r.uint()?,
            noise: r.buffer()?.to_vec(),
            peer_address: if flags & 1 != 0 {
                Some(r.ipv4_address()?)
            } else {
                None
            },
            relay_address: if flags & 2 != 0 {
                Some(r.ipv4_address()?)
            } else {
                None
            },
        })
    }
}

/// `holepunch` (PEER_HOLEPUNCH value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolepunchMessage {
    pub mode: u64,
    pub id: u64,
    pub payload: Vec<u8>,
    pub peer_address: Option<SocketAddrV4>,
}

impl Codec for HolepunchMessage {
    fn encode(&self, w: &mut Writer) {
        w.uint(u64::from(self.peer_address.is_some()));
        w.uint(self.mode);
        w.uint(self.id);
        w.buffer(&self.payload);
        if let Some(a) = &self.peer_address {
            w.ipv4_address(a);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        Ok(HolepunchMessage {
            mode: r.uint()?,
            id: r.uint()?,
            payload: r.buffer()?.to_vec(),
            peer_address: if flags & 1 != 0 {
                Some(r.ipv4_address()?)
            } else {
                None
            },
        })
    }
}

/// `holepunchPayload`: the plaintext of a PEER_HOLEPUNCH payload (encrypted with
/// [`crate::secure_payload::SecurePayload`]). `error` and `firewall` stay raw uints so unknown
/// codes round-trip; see [`crate::constants`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HolepunchPayload {
    pub error: u64,
    pub firewall: u64,
    pub round: u64,
    pub connected: bool,
    pub punching: bool,
    /// `None` is "no addresses" (NAT type unknown); JS writes the flag for any non-null array.
    pub addresses: Option<Vec<SocketAddrV4>>,
    pub remote_address: Option<SocketAddrV4>,
    pub token: Option<[u8; 32]>,
    pub remote_token: Option<[u8; 32]>,
}

impl Codec for HolepunchPayload {
    fn encode(&self, w: &mut Writer) {
        let flags = u64::from(self.connected)
            | (u64::from(self.punching) << 1)
            | (u64::from(self.addresses.is_some()) << 2)
            | (u64::from(self.remote_address.is_some()) << 3)
            | (u64::from(self.token.is_some()) << 4)
            | (u64::from(self.remote_token.is_some()) << 5);
        w.uint(flags);
        w.uint(self.error);
        w.uint(self.firewall);
        w.uint(self.round);
        if let Some(a) = &self.addresses {
            w.ipv4_array(a);
        }
        if let Some(a) = &self.remote_address {
            w.ipv4_address(a);
        }
        if let Some(t) = &self.token {
            w.fixed32(t);
        }
        if let Some(t) = &self.remote_token {
            w.fixed32(t);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        Ok(HolepunchPayload {
            error: r.uint()?,
            firewall: r.uint()?,
            round: r.uint()?,
            connected: flags & 1 != 0,
            punching: flags & 2 != 0,
            addresses: if flags & 4 != 0 {
                Some(r.ipv4_array()?)
            } else {
                None
            },
            remote_address: if flags & 8 != 0 {
                Some(r.ipv4_address()?)
            } else {
                None
            },
            token: if flags & 16 != 0 {
                Some(r.fixed32()?)
            } else {
                None
            },
            remote_token: if flags & 32 != 0 {
                Some(r.fixed32()?)
            } else {
                None
            },
        })
    }
}
