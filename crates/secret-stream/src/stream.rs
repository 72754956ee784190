//! The secret-stream wire protocol (`@hyperswarm/secret-stream index.js`), sans-IO: each side
//! first sends a 56-byte header message (own stream id ‖ secretstream header), then data frames
//! `u24le(len) ‖ push(M)`. Feed received bytes in, get plaintext chunks out.

use crate::handshake::HandshakeResult;
use crate::keyed_hash;
use crate::secretstream::{Pull, Push, ABYTES, HEADERBYTES, TAG_MESSAGE};
use crate::SecretStreamError;

/// Largest frame payload a u24 length prefix can describe.
pub const MAX_FRAME: usize = (1 << 24) - 1;

/// `namespace("hyperswarm/secret-stream", [INITIATOR, RESPONDER, SEND])`.
fn namespaces() -> Vec<[u8; 32]> {
    hyperdht_crypto::namespace("hyperswarm/secret-stream", &[0, 1, 2])
}

/// `NoiseSecretStream.id(handshakeHash, isInitiator)`.
pub fn stream_id(hash: &[u8; 64], initiator: bool) -> [u8; 32] {
    let ns = namespaces();
    keyed_hash(&ns[if initiator { 0 } else { 1 }], hash)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The peer's header arrived; the stream is fully set up.
    Connected,
    Data(Vec<u8>),
}

/// Sans-IO secret-stream codec over a finished handshake: [`SecretStream::feed`] takes raw
/// transport bytes and returns events, [`SecretStream::encrypt`] turns one write into one frame.
pub struct SecretStream {
    initiator: bool,
    hash: [u8; 64],
    push: Push,
    rx_key: [u8; 32],
    pull: Option<Pull>,
    /// the start of a frame cut by the end of what was fed (`inbuf[..have]`; beyond it, room
    /// kept for the rest)
    inbuf: Vec<u8>,
    have: usize,
    failed: bool,
    filter_empty: bool,
    /// keep-alive frames made, empty frames received and filtered (secret-stream counts both
    /// in rawBytesWritten / rawBytesRead)
    keep_alives_sent: u64,
    empty_filtered: u64,
}

impl SecretStream {
    /// Sets up from a finished handshake; returns the stream and the header message to write first.
    pub fn new(hs: &HandshakeResult) -> (Self, Vec<u8>) {
        let (push, header) = Push::new(&hs.tx);
        Self::with_push(hs, push, header)
    }

    /// Like [`SecretStream::new`] with a fixed secretstream header (tests).
    pub fn with_header(hs: &HandshakeResult, header: [u8; HEADERBYTES]) -> (Self, Vec<u8>) {
        Self::with_push(hs, Push::with_header(&hs.tx, &header), header)
    }

    fn with_push(hs: &HandshakeResult, push: Push, header: [u8; HEADERBYTES]) -> (Self, Vec<u8>) {
        let mut msg = Vec::with_capacity(59);
        msg.extend_from_slice(&[56, 0, 0]);
        msg.extend_from_slice(&stream_id(&hs.hash, hs.is_initiator));
        msg.extend_from_slice(&header);
        let s = SecretStream {
            initiator: hs.is_initiator,
            hash: hs.hash,
            push,
            rx_key: hs.rx,
            pull: None,
            inbuf: Vec::new(),
            have: 0,
            failed: false,
            filter_empty: false,
            keep_alives_sent: 0,
            empty_filtered: 0,
        };
        (s, msg)
    }

    /// `filterZeroByteMessages`: swallow received frames with empty plaintext (keep-alives).
    /// JS turns this on whenever a keep-alive is set.
    pub fn set_filter_empty_messages(&mut self, on: bool) {
        self.filter_empty = on;
    }

    /// A keep-alive: an empty data frame (20 bytes on the wire), `sendKeepAlive()`.
    pub fn keep_alive_frame(&mut self) -> Vec<u8> {
        self.keep_alives_sent += 1;
        let mut out = Vec::with_capacity(3 + ABYTES);
        // an empty write always fits a frame
        let _ = self.encrypt_into(&[], &mut out);
        out
    }

    /// Keep-alive frames made, and empty frames received and filtered (not delivered).
    pub fn keep_alive_counts(&self) -> (u64, u64) {
        (self.keep_alives_sent, self.empty_filtered)
    }

    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// True once a bad frame failed the stream (it must be destroyed).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    pub fn is_connected(&self) -> bool {
        self.pull.is_some()
    }

    /// Encrypts one write into one frame (appended to `out`).
    pub fn encrypt_into(&mut self, m: &[u8], out: &mut Vec<u8>) -> Result<(), SecretStreamError> {
        let len = m.len() + ABYTES;
        if len > MAX_FRAME {
            return Err(SecretStreamError::MessageTooLarge);
        }
        out.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
        self.push.push_into(m, TAG_MESSAGE, out);
        Ok(())
    }

    pub fn encrypt(&mut self, m: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        let mut out = Vec::with_capacity(m.len() + ABYTES + 3);
        self.encrypt_into(m, &mut out)?;
        Ok(out)
    }

    /// Bytes allocated for a partial frame (a diagnostic for memory tests).
    pub fn buffer_capacity(&self) -> usize {
        self.inbuf.capacity()
    }

    /// Frees the partial-frame buffer (the stream is closed).
    pub fn release_buffers(&mut self) {
        self.inbuf = Vec::new();
        self.have = 0;
    }

    /// Feeds raw bytes from the transport. Any error is fatal: the stream must be destroyed and
    /// nothing decrypted after a bad frame is ever delivered.
    ///
    /// Whole frames are opened where they lie in `bytes`; only a frame cut by the end of
    /// `bytes` is copied, into the partial-frame buffer (which [`Self::partial_room`] lets the
    /// transport fill directly).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, SecretStreamError> {
        if self.failed {
            return Err(SecretStreamError::Decrypt);
        }
        let mut events = Vec::new();
        let mut input = bytes;
        while self.have > 0 && !input.is_empty() {
            let Some(room) = self.partial_room() else {
                break;
            };
            let n = room.len().min(input.len());
            room[..n].copy_from_slice(&input[..n]);
            input = &input[n..];
            let done = self.partial_filled(n);
            events.extend(self.check(done)?);
        }
        let res = loop {
            let Some(total) = frame_len(input) else {
                break Ok(());
            };
            if input.len() < total {
                break Ok(());
            }
            if let Err(e) = self.open_frame(&input[3..total], &mut events) {
                break Err(e);
            }
            input = &input[total..];
        };
        self.check(res)?;
        if !input.is_empty() {
            // the start of a frame: kept until the rest arrives
            if self.inbuf.len() < input.len() {
                let want = frame_len(input).map_or(0, partial_alloc).max(input.len());
                self.inbuf.clear();
                self.inbuf.reserve_exact(want);
                self.inbuf.extend_from_slice(input);
            } else {
                self.inbuf[..input.len()].copy_from_slice(input);
            }
            self.have = input.len();
        }
        Ok(events)
    }

    /// The transport has nothing more for now: a partial-frame buffer kept between frames
    /// (up to a 64 KiB frame's) goes unless a frame is partial.
    pub fn trim_idle(&mut self) {
        if self.have == 0 && self.inbuf.capacity() > IDLE_KEEP {
            self.inbuf = Vec::new();
        }
    }

    /// Fails the stream for good on an error (the partial-frame buffer goes).
    fn check<T>(&mut self, r: Result<T, SecretStreamError>) -> Result<T, SecretStreamError> {
        if r.is_err() {
            self.failed = true;
            self.have = 0;
            self.inbuf = Vec::new();
        }
        r
    }

    /// Where the transport may write the next bytes of a partially received frame (at most the
    /// rest of its length prefix, or of the frame, or 64 KiB at a time); `None` when
    /// no frame is partial (or the stream failed). Follow with [`Self::partial_filled`].
    pub fn partial_room(&mut self) -> Option<&mut [u8]> {
        if self.have == 0 || self.failed {
            return None;
        }
        let end = match frame_len(&self.inbuf[..self.have]) {
            None => 3,
            Some(total) => total.min(self.have + PARTIAL_STEP),
        };
        self.grow_inbuf(end);
        Some(&mut self.inbuf[self.have..end])
    }

    /// `n` bytes were written at the start of [`Self::partial_room`]: the frame, if now whole,
    /// is opened. An error is fatal, as for [`Self::feed`].
    pub fn partial_filled(&mut self, n: usize) -> Result<Vec<StreamEvent>, SecretStreamError> {
        if self.failed {
            return Err(SecretStreamError::Decrypt);
        }
        self.have += n;
        let mut events = Vec::new();
        match frame_len(&self.inbuf[..self.have]) {
            Some(total) if self.have == total => {
                let inbuf = std::mem::take(&mut self.inbuf);
                let r = self.open_frame(&inbuf[3..total], &mut events);
                self.have = 0;
                // a buffer that held a frame of up to 64 KiB (hypercore's blocks, a bulk
                // writer's chunks) stays for the next one; a larger one goes
                if inbuf.len() <= KEEP_PARTIAL {
                    self.inbuf = inbuf;
                }
                let r = self.check(r);
                r.map(|()| events)
            }
            _ => Ok(events),
        }
    }

    /// Makes `inbuf` at least `end` bytes long (zeros beyond what it held).
    fn grow_inbuf(&mut self, end: usize) {
        if self.inbuf.len() < end {
            self.inbuf.resize(end, 0);
        }
    }

    /// Opens one frame's payload: the header message first, then data.
    fn open_frame(
        &mut self,
        frame: &[u8],
        events: &mut Vec<StreamEvent>,
    ) -> Result<(), SecretStreamError> {
        match self.pull.as_mut() {
            None => {
                if frame.len() != 32 + HEADERBYTES {
                    return Err(SecretStreamError::InvalidHeaderMessage);
                }
                if frame[..32] != stream_id(&self.hash, !self.initiator) {
                    return Err(SecretStreamError::InvalidHeader);
                }
                let mut header = [0u8; HEADERBYTES];
                header.copy_from_slice(frame.get(32..).unwrap_or_default());
                self.pull = Some(Pull::new(&self.rx_key, &header));
                events.push(StreamEvent::Connected);
            }
            Some(pull) => match pull.pull(frame)? {
                (m, _tag) if m.is_empty() && self.filter_empty => self.empty_filtered += 1,
                (m, _tag) => events.push(StreamEvent::Data(m)),
            },
        }
        Ok(())
    }
}

/// Buffers emptied above this capacity are freed (a connection that once carried a large
/// message would otherwise keep that much per direction while idle): the pending output in
/// `io.rs`.
pub(crate) const IDLE_KEEP: usize = 16 * 1024;

/// The partial-frame buffer is kept between frames up to this size: a 64 KiB write's frame
/// (hypercore's blocks, a bulk writer's chunks), so a stream of them is not one allocation and
/// zero-fill per frame; a larger one is freed once its frame is whole.
const KEEP_PARTIAL: usize = 64 * 1024 + ABYTES + 3;

/// The partial-frame buffer grows by at most this much per [`SecretStream::partial_room`]: a
/// peer announcing a large frame must send its bytes before we hold them.
const PARTIAL_STEP: usize = 64 * 1024;

/// Frames up to this size get their whole buffer at once when their start arrives.
const RESERVE_MAX: usize = 256 * 1024;

/// The length of the frame `buf` starts with (prefix included), once its prefix is there.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let h = buf.get(..3)?;
    Some(3 + u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize)
}

/// How much buffer a frame of `total` bytes gets when its start arrives: all of it up to
/// [`RESERVE_MAX`], else nothing beyond what arrived.
fn partial_alloc(total: usize) -> usize {
    if total <= RESERVE_MAX {
        total
    } else {
        0
    }
}

#[cfg(test)]
mod buffer_tests {
    use super::*;

    fn pair() -> (SecretStream, SecretStream, Vec<u8>) {
        let hs = |initiator, tx, rx| HandshakeResult {
            is_initiator: initiator,
            public_key: [0; 32],
            remote_public_key: [0; 32],
            hash: [9; 64],
            tx: [tx; 32],
            rx: [rx; 32],
            holepunch_secret: None,
        };
        let (a, header) = SecretStream::new(&hs(true, 1, 2));
        let (mut b, _) = SecretStream::new(&hs(false, 2, 1));
        assert!(matches!(
            b.feed(&header).unwrap()[..],
            [StreamEvent::Connected]
        ));
        (a, b, header)
    }

    /// A large frame arriving in pieces is buffered in one allocation of its size, handed on
    /// whole, and the buffer is freed once empty.
    #[test]
    fn a_large_frame_is_reassembled_then_its_buffer_freed() {
        let (mut a, mut b, _) = pair();
        let msg: Vec<u8> = (0..200_000u32).map(|i| (i * 13) as u8).collect();
        let mut wire = Vec::new();
        a.encrypt_into(&msg, &mut wire).unwrap();
        let mut got = Vec::new();
        for piece in wire.chunks(1152) {
            for ev in b.feed(piece).unwrap() {
                if let StreamEvent::Data(d) = ev {
                    got.push(d);
                }
            }
            assert!(b.buffer_capacity() <= wire.len().max(IDLE_KEEP));
        }
        assert_eq!(got, vec![msg]);
        assert!(
            b.buffer_capacity() <= IDLE_KEEP,
            "{} kept",
            b.buffer_capacity()
        );
        b.release_buffers();
        assert_eq!(b.buffer_capacity(), 0);
    }

    /// A peer announcing a 16 MiB frame gets no buffer of that size before sending its bytes.
    #[test]
    fn an_announced_huge_frame_reserves_nothing_up_front() {
        let (_, mut b, _) = pair();
        let mut head = vec![0xff, 0xff, 0xff];
        head.extend_from_slice(&[0u8; 1000]);
        assert!(b.feed(&head).unwrap().is_empty());
        assert!(
            b.buffer_capacity() < 64 * 1024,
            "{} reserved",
            b.buffer_capacity()
        );
    }
}
