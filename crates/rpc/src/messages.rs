//! The dht-rpc frame (`dht-rpc lib/io.js: Request._encodeRequest, Request.decode, _sendReply,
//! decodeReply`). Decoding is lenient like JS: flags are a `uint`, unknown bits and trailing bytes
//! are ignored, and any decode error means "drop silently".

use std::net::SocketAddrV4;

use hyperdht_encoding::{DecodeError, Reader, Writer};

pub const REQUEST_ID: u8 = 0x03;
pub const RESPONSE_ID: u8 = 0x13;
/// libudx receives into a 2048-byte buffer; longer datagrams are truncated before parsing.
pub const MAX_DATAGRAM: usize = 2048;

/// Built-in (internal) commands (`dht-rpc lib/commands.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Ping,
    PingNat,
    FindNode,
    DownHint,
    DelayedPing,
}

impl Command {
    pub fn code(self) -> u64 {
        match self {
            Command::Ping => 0,
            Command::PingNat => 1,
            Command::FindNode => 2,
            Command::DownHint => 3,
            Command::DelayedPing => 4,
        }
    }

    pub fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => Command::Ping,
            1 => Command::PingNat,
            2 => Command::FindNode,
            3 => Command::DownHint,
            4 => Command::DelayedPing,
            _ => return None,
        })
    }
}

/// Error codes carried in responses (`dht-rpc lib/errors.js` + hyperdht's).
pub mod error_code {
    pub const OK: u64 = 0;
    pub const UNKNOWN_COMMAND: u64 = 1;
    pub const INVALID_TOKEN: u64 = 2;
    pub const SEQ_REUSED: u64 = 16;
    pub const SEQ_TOO_LOW: u64 = 17;
}

/// Typed view of a response error code (0 = no error is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    UnknownCommand,
    InvalidToken,
    SeqReused,
    SeqTooLow,
    /// Any other application code (hyperdht reserves ≥ 16).
    Other(u64),
}

impl ErrorCode {
    pub fn code(self) -> u64 {
        match self {
            ErrorCode::UnknownCommand => error_code::UNKNOWN_COMMAND,
            ErrorCode::InvalidToken => error_code::INVALID_TOKEN,
            ErrorCode::SeqReused => error_code::SEQ_REUSED,
            ErrorCode::SeqTooLow => error_code::SEQ_TOO_LOW,
            ErrorCode::Other(c) => c,
        }
    }

    pub fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            error_code::OK => return None,
            error_code::UNKNOWN_COMMAND => ErrorCode::UnknownCommand,
            error_code::INVALID_TOKEN => ErrorCode::InvalidToken,
            error_code::SEQ_REUSED => ErrorCode::SeqReused,
            error_code::SEQ_TOO_LOW => ErrorCode::SeqTooLow,
            other => ErrorCode::Other(other),
        })
    }
}

mod flag {
    pub const ID: u64 = 1;
    pub const TOKEN: u64 = 2;
    pub const INTERNAL: u64 = 4;
    pub const CLOSER_NODES: u64 = 4;
    pub const TARGET: u64 = 8;
    pub const ERROR: u64 = 8;
    pub const VALUE: u64 = 16;
}

/// A decoded or to-be-encoded request frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame {
    pub tid: u16,
    pub to: SocketAddrV4,
    pub id: Option<[u8; 32]>,
    pub token: Option<[u8; 32]>,
    pub internal: bool,
    pub command: u64,
    pub target: Option<[u8; 32]>,
    pub value: Option<Vec<u8>>,
}

/// A decoded or to-be-encoded response frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseFrame {
    pub tid: u16,
    pub to: Option<SocketAddrV4>,
    pub id: Option<[u8; 32]>,
    pub token: Option<[u8; 32]>,
    pub closer_nodes: Vec<SocketAddrV4>,
    pub error: u64,
    pub value: Option<Vec<u8>>,
}

/// A response as seen by the requester, after id validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub tid: u16,
    pub from: SocketAddrV4,
    /// Set only if the claimed id equals `hash(from)`.
    pub from_id: Option<[u8; 32]>,
    pub to: SocketAddrV4,
    pub token: Option<[u8; 32]>,
    pub closer_nodes: Vec<SocketAddrV4>,
    pub error: u64,
    pub value: Option<Vec<u8>>,
    pub rtt_ms: u32,
}

impl Response {
    /// The error as a typed code (`None` when the reply is a success).
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.error)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Request(RequestFrame),
    Response(ResponseFrame),
}

impl RequestFrame {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 + self.value.as_ref().map_or(0, |v| v.len()));
        let mut flags = 0u64;
        if self.id.is_some() {
            flags |= flag::ID;
        }
        if self.token.is_some() {
            flags |= flag::TOKEN;
        }
        if self.internal {
            flags |= flag::INTERNAL;
        }
        if self.target.is_some() {
            flags |= flag::TARGET;
        }
        if self.value.is_some() {
            flags |= flag::VALUE;
        }
        w.uint8(REQUEST_ID);
        w.uint8(flags as u8);
        w.uint16(self.tid);
        w.ipv4_address(&self.to);
        if let Some(id) = &self.id {
            w.fixed32(id);
        }
        if let Some(t) = &self.token {
            w.fixed32(t);
        }
        w.uint(self.command);
        if let Some(t) = &self.target {
            w.fixed32(t);
        }
        if let Some(v) = &self.value {
            w.buffer(v);
        }
        w.into_vec()
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        let tid = r.uint16()?;
        let to = r.ipv4_address()?;
        let id = if flags & flag::ID != 0 {
            Some(r.fixed32()?)
        } else {
            None
        };
        let token = if flags & flag::TOKEN != 0 {
            Some(r.fixed32()?)
        } else {
            None
        };
        let internal = flags & flag::INTERNAL != 0;
        let command = r.uint()?;
        let target = if flags & flag::TARGET != 0 {
            Some(r.fixed32()?)
        } else {
            None
        };
        let value = if flags & flag::VALUE != 0 {
            Some(r.buffer()?.to_vec())
        } else {
            None
        };
        Ok(RequestFrame {
            tid,
            to,
            id,
            token,
            internal,
            command,
            target,
            value,
        })
    }
}

impl ResponseFrame {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            64 + self.closer_nodes.len() * 6 + self.value.as_ref().map_or(0, |v| v.len()),
        );
        let mut flags = 0u64;
        if self.id.is_some() {
            flags |= flag::ID;
        }
        if self.token.is_some() {
            flags |= flag::TOKEN;
        }
        if !self.closer_nodes.is_empty() {
            flags |= flag::CLOSER_NODES;
        }
        if self.error > 0 {
            flags |= flag::ERROR;
        }
        if self.value.is_some() {
            flags |= flag::VALUE;
        }
        w.uint8(RESPONSE_ID);
        w.uint8(flags as u8);
        w.uint16(self.tid);
        w.ipv4_address(&self.to.unwrap_or(SocketAddrV4::new(0.into(), 0)));
        if let Some(id) = &self.id {
            w.fixed32(id);
        }
        if let Some(t) = &self.token {
            w.fixed32(t);
        }
        if !self.closer_nodes.is_empty() {
            w.ipv4_array(&self.closer_nodes);
        }
        if self.error > 0 {
            w.uint(self.error);
        }
        if let Some(v) = &self.value {
            w.buffer(v);
        }
        w.into_vec()
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.uint()?;
        let tid = r.uint16()?;
        let to = r.ipv4_address()?;
        let id = if flags & flag::ID != 0 {
            Some(r.fixed32()?)
        } else {
            None
        };
        let token = if flags & flag::TOKEN != 0 {
            Some(r.fixed32()?)
        } else {
            None
        };
        let closer_nodes = if flags & flag::CLOSER_NODES != 0 {
            r.ipv4_array()?
        } else {
            Vec::new()
        };
        let error = if flags & flag::ERROR != 0 {
            r.uint()?
        } else {
            0
        };
        let value = if flags & flag::VALUE != 0 {
            Some(r.buffer()?.to_vec())
        } else {
            None
        };
        Ok(ResponseFrame {
            tid,
            to: Some(to),
            id,
            token,
            closer_nodes,
            error,
            value,
        })
    }
}

/// Parses a datagram the way a JS node would: truncated to 2048 bytes, first byte selects the
/// frame type, anything else (or any decode error) is `None` = drop.
pub fn decode(datagram: &[u8]) -> Option<Frame> {
    let d = &datagram[..datagram.len().min(MAX_DATAGRAM)];
    if d.len() < 2 {
        return None;
    }
    let mut r = Reader::new(&d[1..]);
    match d[0] {
        REQUEST_ID => RequestFrame::decode_body(&mut r).ok().map(Frame::Request),
        RESPONSE_ID => ResponseFrame::decode_body(&mut r).ok().map(Frame::Response),
        _ => None,
    }
}
