//! Encoding into a growable buffer (compact-encoding `preencode` + `encode` folded into one pass).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use crate::{Codec, MAX_SAFE_INTEGER};

#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn uint8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn uint16(&mut self, v: u16) {
        self.raw(&v.to_le_bytes());
    }

    pub fn uint24(&mut self, v: u32) {
        self.raw(&v.to_le_bytes()[..3]);
    }

    pub fn uint32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }

    pub fn uint64(&mut self, v: u64) {
        self.raw(&v.min(MAX_SAFE_INTEGER).to_le_bytes());
    }

    /// Shortest form, like the JS encoder. Values are clamped to 2^53 − 1 so we never emit
    /// something a JS node would reject.
    pub fn uint(&mut self, v: u64) {
        let v = v.min(MAX_SAFE_INTEGER);
        if v <= 0xfc {
            self.uint8(v as u8);
        } else if v <= 0xffff {
            self.uint8(0xfd);
            self.uint16(v as u16);
        } else if v <= 0xffff_ffff {
            self.uint8(0xfe);
            self.uint32(v as u32);
        } else {
            self.uint8(0xff);
            self.uint64(v);
        }
    }

    pub fn fixed32(&mut self, b: &[u8; 32]) {
        self.raw(b);
    }

    pub fn fixed64(&mut self, b: &[u8; 64]) {
        self.raw(b);
    }

    pub fn buffer(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.raw(b);
    }

    pub fn string(&mut self, s: &str) {
        self.buffer(s.as_bytes());
    }

    pub fn bool(&mut self, b: bool) {
        self.uint8(b as u8);
    }

    pub fn ipv4(&mut self, ip: &Ipv4Addr) {
        self.raw(&ip.octets());
    }

    pub fn ipv4_address(&mut self, a: &SocketAddrV4) {
        self.ipv4(a.ip());
        self.uint16(a.port());
    }

    pub fn ipv6(&mut self, ip: &Ipv6Addr) {
        self.raw(&ip.octets());
    }

    pub fn ipv6_address(&mut self, a: &SocketAddrV6) {
        self.ipv6(a.ip());
        self.uint16(a.port());
    }

    pub fn array<T: Codec>(&mut self, items: &[T]) {
        self.uint(items.len() as u64);
        for it in items {
            it.encode(self);
        }
    }

    pub fn ipv4_array(&mut self, items: &[SocketAddrV4]) {
        self.array(items);
    }
}
