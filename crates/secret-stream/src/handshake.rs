//! Noise handshake state machine for the IK and XX patterns with Ed25519 DH
//! (`noise-handshake noise.js`, `hyperdht lib/noise-wrap.js`).

use crate::dh::{dh, DhKeyPair};
use crate::symmetric::SymmetricState;
use crate::{keyed_hash, SecretStreamError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `<- s ... -> e, es, s, ss  <- e, ee, se` (hyperdht PEER_HANDSHAKE).
    IK,
    /// `-> e  <- e, ee, s, es  -> s, se` (secret-stream's standalone handshake).
    XX,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    E,
    S,
    EE,
    ES,
    SE,
    SS,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::IK => "Noise_IK_Ed25519_ChaChaPoly_BLAKE2b",
            Pattern::XX => "Noise_XX_Ed25519_ChaChaPoly_BLAKE2b",
        }
    }

    fn messages(self) -> &'static [&'static [Token]] {
        use Token::*;
        match self {
            Pattern::IK => &[&[E, ES, S, SS], &[E, EE, SE]],
            Pattern::XX => &[&[E], &[E, EE, S, ES], &[S, SE]],
        }
    }
}

/// What a finished handshake yields (`NoiseWrap.final()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResult {
    pub is_initiator: bool,
    /// Own static key.
    pub public_key: [u8; 32],
    /// The peer's static key (`remote_static`): learned in message 1 (IK responder), the dialed
    /// key (IK initiator), or from message 2/3 (XX).
    pub remote_public_key: [u8; 32],
    /// The final handshake hash `h` (64 bytes).
    pub hash: [u8; 64],
    /// Outgoing secret-stream key (initiator: k1 of Split, responder: k2).
    pub tx: [u8; 32],
    /// Incoming secret-stream key.
    pub rx: [u8; 32],
    /// The holepunch secret as a handshake run outside this crate reported it (hyperdht's
    /// `NoiseWrap.final().holepunchSecret`, from an app's `createHandshake`, which may keep the
    /// hash and keys to itself); `None`: derived from `hash`.
    pub holepunch_secret: Option<[u8; 32]>,
}

impl HandshakeResult {
    /// `BLAKE2b-256(msg = NS.PEER_HOLEPUNCH, key = handshakeHash)`, unless given.
    pub fn holepunch_secret(&self, ns_peer_holepunch: &[u8; 32]) -> [u8; 32] {
        self.holepunch_secret
            .unwrap_or_else(|| keyed_hash(ns_peer_holepunch, &self.hash))
    }
}

/// One side of a Noise handshake (`noise-handshake`'s `NoiseState`), sans-IO: `send` produces the
/// next message, `recv` consumes the peer's, `result` yields the split keys once `is_done`.
pub struct Handshake {
    pattern: Pattern,
    initiator: bool,
    sym: SymmetricState,
    s: DhKeyPair,
    e: Option<DhKeyPair>,
    rs: Option<[u8; 32]>,
    re: Option<[u8; 32]>,
    step: usize,
    failed: bool,
}

impl Handshake {
    /// `prologue` is `NS.PEER_HANDSHAKE` for hyperdht, empty for secret-stream's XX. IK needs the
    /// responder's static key on the initiator side.
    pub fn new(
        pattern: Pattern,
        initiator: bool,
        s: DhKeyPair,
        prologue: &[u8],
        remote_static: Option<[u8; 32]>,
    ) -> Result<Self, SecretStreamError> {
        let mut sym = SymmetricState::new(pattern.name());
        sym.mix_hash(prologue);
        let mut rs = None;
        if pattern == Pattern::IK {
            if initiator {
                let r = remote_static.ok_or(SecretStreamError::BadHandshake)?;
                sym.mix_hash(&r);
                rs = Some(r);
            } else {
                sym.mix_hash(&s.public_key);
            }
        }
        Ok(Handshake {
            pattern,
            initiator,
            sym,
            s,
            e: None,
            rs,
            re: None,
            step: 0,
            failed: false,
        })
    }

    /// IK initiator (hyperdht client): knows the responder's static key; `prologue` is
    /// `NS.PEER_HANDSHAKE` for hyperdht.
    pub fn initiator(
        s: DhKeyPair,
        remote_static: [u8; 32],
        prologue: &[u8],
    ) -> Result<Self, SecretStreamError> {
        Self::new(Pattern::IK, true, s, prologue, Some(remote_static))
    }

    /// IK responder (hyperdht server).
    pub fn responder(s: DhKeyPair, prologue: &[u8]) -> Result<Self, SecretStreamError> {
        Self::new(Pattern::IK, false, s, prologue, None)
    }

    /// The static key the peer proved (known up front on the IK initiator side).
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.rs
    }

    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// Injects the ephemeral key pair (tests / vectors); otherwise one is generated.
    pub fn set_ephemeral(&mut self, e: DhKeyPair) {
        self.e = Some(e);
    }

    pub fn is_done(&self) -> bool {
        !self.failed && self.step == self.pattern.messages().len()
    }

    fn my_turn(&self) -> bool {
        self.step.is_multiple_of(2) == self.initiator
    }

    fn mix_dh(&mut self, t: Token) -> Result<(), SecretStreamError> {
        let need = SecretStreamError::BadHandshake;
        let (local, remote) = match (t, self.initiator) {
            (Token::EE, _) => (self.e.as_ref().ok_or(need.clone())?, self.re.ok_or(need)?),
            (Token::SS, _) => (&self.s, self.rs.ok_or(need)?),
            (Token::ES, true) | (Token::SE, false) => {
                (self.e.as_ref().ok_or(need.clone())?, self.rs.ok_or(need)?)
            }
            (Token::ES, false) | (Token::SE, true) => (&self.s, self.re.ok_or(need)?),
            _ => return Err(need),
        };
        let shared = dh(local, &remote)?;
        self.sym.mix_key(&shared);
        Ok(())
    }

    /// Writes the next handshake message carrying `payload`.
    pub fn send(&mut self, payload: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        if self.failed || self.is_done() || !self.my_turn() {
            return Err(SecretStreamError::BadHandshake);
        }
        let mut out = Vec::with_capacity(96 + payload.len());
        for &t in self.pattern.messages()[self.step] {
            match t {
                Token::E => {
                    let e = self.e.get_or_insert_with(DhKeyPair::generate).public_key;
                    out.extend_from_slice(&e);
                    self.sym.mix_hash(&e);
                }
                Token::S => {
                    let c = self.sym.encrypt_and_hash(&self.s.public_key.clone());
                    out.extend_from_slice(&c);
                }
                dh_token => {
                    if let Err(e) = self.mix_dh(dh_token) {
                        self.failed = true;
                        return Err(e);
                    }
                }
            }
        }
        out.extend_from_slice(&self.sym.encrypt_and_hash(payload));
        self.step += 1;
        Ok(out)
    }

    /// Reads the peer's next handshake message; returns its payload.
    pub fn recv(&mut self, msg: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        if self.failed || self.is_done() || self.my_turn() {
            return Err(SecretStreamError::BadHandshake);
        }
        let r = self.recv_inner(msg);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn recv_inner(&mut self, msg: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        let mut rest = msg;
        let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>, SecretStreamError> {
            if rest.len() < n {
                return Err(SecretStreamError::BadHandshake);
            }
            let (a, b) = rest.split_at(n);
            *rest = b;
            Ok(a.to_vec())
        };
        for &t in self.pattern.messages()[self.step] {
            match t {
                Token::E => {
                    let e: [u8; 32] = take(&mut rest, 32)?
                        .try_into()
                        .map_err(|_| SecretStreamError::BadHandshake)?;
                    self.sym.mix_hash(&e);
                    self.re = Some(e);
                }
                Token::S => {
                    let n = if self.sym.has_key() { 48 } else { 32 };
                    let c = take(&mut rest, n)?;
                    let p = self.sym.decrypt_and_hash(&c)?;
                    let s: [u8; 32] = p.try_into().map_err(|_| SecretStreamError::BadHandshake)?;
                    self.rs = Some(s);
                }
                dh_token => self.mix_dh(dh_token)?,
            }
        }
        let payload = self.sym.decrypt_and_hash(rest)?;
        self.step += 1;
        Ok(payload)
    }

    /// Keys and hash once both messages are through.
    pub fn result(&self) -> Option<HandshakeResult> {
        if !self.is_done() {
            return None;
        }
        let (k1, k2) = self.sym.split();
        let (tx, rx) = if self.initiator { (k1, k2) } else { (k2, k1) };
        Some(HandshakeResult {
            is_initiator: self.initiator,
            public_key: self.s.public_key,
            remote_public_key: self.rs?,
            hash: self.sym.h,
            tx,
            rx,
            holepunch_secret: None,
        })
    }
}
