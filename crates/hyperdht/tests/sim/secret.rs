//! The application on top of a simulated connection: `@hyperswarm/secret-stream` run sans-IO
//! ([`SecretStream`]: the 56-byte header message, then u24-framed secretstream messages) over
//! a UDX [`Stream`]. A client sends a payload and expects it back byte for byte; a server
//! echoes. Both half-close when done, so a finished echo also closes the UDX streams cleanly.

use std::time::Instant;

use hyperdht_secret_stream::{HandshakeResult, SecretStream, SecretStreamError, StreamEvent};
use hyperdht_udx::Stream;

/// Plaintext bytes per secret-stream frame the sender writes.
const CHUNK: usize = 16 * 1024;

/// What the application does with its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// write everything back (a server)
    Echo,
    /// send `payload` once the secret stream is up, expect it echoed (a client)
    Send(Vec<u8>),
}

pub struct App {
    secret: SecretStream,
    /// our header message, written first
    header: Option<Vec<u8>>,
    role: Role,
    /// plaintext received so far
    pub received: Vec<u8>,
    /// the peer's header arrived (secret-stream `connected`)
    pub secret_at: Option<Instant>,
    /// `Send`: everything came back (byte-exactness is for the test to check)
    pub echoed_at: Option<Instant>,
    pub remote_ended: bool,
    ended: bool,
    written: bool,
    /// a frame failed to decrypt or parse: the stream was destroyed
    pub error: Option<SecretStreamError>,
}

impl App {
    /// A secret stream over a finished Noise handshake.
    pub fn new(result: &HandshakeResult, role: Role) -> Self {
        let (secret, header) = SecretStream::new(result);
        App {
            secret,
            header: Some(header),
            role,
            received: Vec::new(),
            secret_at: None,
            echoed_at: None,
            remote_ended: false,
            ended: false,
            written: false,
            error: None,
        }
    }

    /// The payload a sender sends (empty for an echo).
    pub fn payload(&self) -> &[u8] {
        match &self.role {
            Role::Send(p) => p,
            Role::Echo => &[],
        }
    }

    /// Writes what is due and reads what arrived. Call whenever the stream may have moved.
    pub fn pump(&mut self, stream: &mut Stream, now: Instant) {
        if self.error.is_some() {
            return;
        }
        if let Some(h) = self.header.take() {
            stream.write(&h, now);
        }
        loop {
            let (a, b) = stream.read_slices();
            if a.is_empty() && b.is_empty() {
                break;
            }
            let mut bytes = a.to_vec();
            bytes.extend_from_slice(b);
            stream.consume(bytes.len());
            match self.secret.feed(&bytes) {
                Ok(events) => {
                    for ev in events {
                        self.on_event(ev, stream, now);
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    stream.destroy();
                    return;
                }
            }
        }
        let done = match &self.role {
            Role::Echo => self.remote_ended,
            Role::Send(_) => self.echoed_at.is_some(),
        };
        if done && !self.ended {
            self.ended = true;
            stream.end(now);
        }
    }

    fn on_event(&mut self, ev: StreamEvent, stream: &mut Stream, now: Instant) {
        match ev {
            StreamEvent::Connected => {
                self.secret_at.get_or_insert(now);
                if let (Role::Send(p), false) = (&self.role, self.written) {
                    self.written = true;
                    for chunk in p.chunks(CHUNK) {
                        let frame = self.secret.encrypt(chunk).expect("a chunk fits a frame");
                        stream.write(&frame, now);
                    }
                }
            }
            StreamEvent::Data(m) => {
                if self.role == Role::Echo {
                    let frame = self.secret.encrypt(&m).expect("an echo fits a frame");
                    stream.write(&frame, now);
                }
                self.received.extend_from_slice(&m);
                if let Role::Send(p) = &self.role {
                    if self.received.len() >= p.len() {
                        self.echoed_at.get_or_insert(now);
                    }
                }
            }
        }
    }
}
