//! secret-stream's own handshake, used when no finished handshake is handed in
//! (`@hyperswarm/secret-stream lib/handshake.js`): Noise XX (or IK) with an empty prologue and
//! empty payloads, each message framed like data frames (`u24le(len) ‖ message`). Sans-IO: feed
//! raw bytes, write what comes back; once done, the bytes already received past the last
//! handshake message belong to the secret stream (usually the peer's 56-byte header).

use crate::dh::DhKeyPair;
use crate::handshake::{Handshake, HandshakeResult, Pattern};
use crate::SecretStreamError;

/// Noise caps a handshake message at 65535 bytes; a longer frame is never a handshake message.
const MAX_HANDSHAKE_FRAME: usize = 65535;

/// What feeding bytes produced.
#[derive(Debug)]
pub enum FramedStep {
    /// Handshake still running; write these bytes (possibly empty).
    Continue(Vec<u8>),
    /// Handshake complete: write `write` (possibly empty), then run the secret stream with
    /// `result`, feeding it `leftover` first.
    Done {
        write: Vec<u8>,
        result: Box<HandshakeResult>,
        leftover: Vec<u8>,
    },
}

/// The framed standalone handshake.
pub struct FramedHandshake {
    hs: Handshake,
    inbuf: Vec<u8>,
    finished: bool,
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + msg.len());
    out.extend_from_slice(&(msg.len() as u32).to_le_bytes()[..3]);
    out.extend_from_slice(msg);
    out
}

impl FramedHandshake {
    /// `Noise_XX_Ed25519_ChaChaPoly_BLAKE2b`, secret-stream's default.
    pub fn xx(initiator: bool, key_pair: DhKeyPair) -> Self {
        let hs = Handshake::new(Pattern::XX, initiator, key_pair, &[], None)
            .expect("XX needs no remote key");
        FramedHandshake {
            hs,
            inbuf: Vec::new(),
            finished: false,
        }
    }

    /// `opts.pattern = 'IK'`: the initiator must know the responder's key.
    pub fn ik(
        initiator: bool,
        key_pair: DhKeyPair,
        remote_public_key: Option<[u8; 32]>,
    ) -> Result<Self, SecretStreamError> {
        let hs = Handshake::new(Pattern::IK, initiator, key_pair, &[], remote_public_key)?;
        Ok(FramedHandshake {
            hs,
            inbuf: Vec::new(),
            finished: false,
        })
    }

    /// Access to the inner state (e.g. to inject ephemerals in tests).
    pub fn handshake_mut(&mut self) -> &mut Handshake {
        &mut self.hs
    }

    /// The bytes to write when the raw stream opens: message 1 for the initiator, nothing for
    /// the responder.
    pub fn start(&mut self) -> Result<Vec<u8>, SecretStreamError> {
        if !self.hs.is_initiator() {
            return Ok(Vec::new());
        }
        Ok(framed(&self.hs.send(&[])?))
    }

    /// Feeds raw bytes. Any error is fatal (`Noise handshake failed`).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<FramedStep, SecretStreamError> {
        if self.finished {
            return Err(SecretStreamError::BadHandshake);
        }
        self.inbuf.extend_from_slice(bytes);
        let mut write = Vec::new();
        loop {
            let Some(head) = self.inbuf.get(..3) else {
                return Ok(FramedStep::Continue(write));
            };
            let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
            if len > MAX_HANDSHAKE_FRAME {
                self.finished = true;
                return Err(SecretStreamError::BadHandshake);
            }
            let Some(msg) = self.inbuf.get(3..3 + len) else {
                return Ok(FramedStep::Continue(write));
            };
            let msg = msg.to_vec();
            self.inbuf.drain(..3 + len);
            if let Err(e) = self.hs.recv(&msg) {
                self.finished = true;
                return Err(e);
            }
            if !self.hs.is_done() {
                match self.hs.send(&[]) {
                    Ok(m) => write.extend_from_slice(&framed(&m)),
                    Err(e) => {
                        self.finished = true;
                        return Err(e);
                    }
                }
            }
            if self.hs.is_done() {
                self.finished = true;
                let result = self.hs.result().ok_or(SecretStreamError::BadHandshake)?;
                return Ok(FramedStep::Done {
                    write,
                    result: Box::new(result),
                    leftover: std::mem::take(&mut self.inbuf),
                });
            }
        }
    }
}
