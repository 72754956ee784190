//! The UDX header (`libudx src/udx.c: udx_write_header`, `process_packet`).

pub const MAGIC: u8 = 0xff;
pub const VERSION: u8 = 0x01;
pub const HEADER_SIZE: usize = 20;

pub const DATA: u8 = 0x01;
pub const END: u8 = 0x02;
pub const SACK: u8 = 0x04;
pub const MESSAGE: u8 = 0x08;
pub const DESTROY: u8 = 0x10;
pub const HEARTBEAT: u8 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub kind: u8,
    pub data_offset: u8,
    pub remote_id: u32,
    pub rwnd: u32,
    pub seq: u32,
    pub ack: u32,
}

impl Header {
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[MAGIC, VERSION, self.kind, self.data_offset]);
        out.extend_from_slice(&self.remote_id.to_le_bytes());
        out.extend_from_slice(&self.rwnd.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.ack.to_le_bytes());
    }

    /// Parses a datagram; `None` if it is not UDX. Returns the header and the payload
    /// (after `data_offset` padding).
    pub fn parse(d: &[u8]) -> Option<(Header, &[u8])> {
        if d.len() < HEADER_SIZE || d[0] != MAGIC || d[1] != VERSION {
            return None;
        }
        let u = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        let h = Header {
            kind: d[2],
            data_offset: d[3],
            remote_id: u(4),
            rwnd: u(8),
            seq: u(12),
            ack: u(16),
        };
        let start = HEADER_SIZE + h.data_offset as usize;
        if start > d.len() {
            return None;
        }
        Some((h, &d[start..]))
    }

    /// The receiver's stream id without a full parse (demultiplexing).
    pub fn peek_id(d: &[u8]) -> Option<u32> {
        if d.len() < HEADER_SIZE || d[0] != MAGIC || d[1] != VERSION {
            return None;
        }
        Some(u32::from_le_bytes([d[4], d[5], d[6], d[7]]))
    }

    /// The sequence number of a UDX datagram without parsing the rest.
    pub fn peek_seq(d: &[u8]) -> Option<u32> {
        Self::peek_id(d)?;
        Some(u32::from_le_bytes([d[12], d[13], d[14], d[15]]))
    }
}

/// Serial-number comparison: `a < b` on the u32 ring.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}
