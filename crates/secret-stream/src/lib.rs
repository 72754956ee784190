//! Noise handshakes and `@hyperswarm/secret-stream` as HyperDHT uses them.
//!
//! * [`handshake`]: `Noise_IK_Ed25519_ChaChaPoly_BLAKE2b` (hyperdht `lib/noise-wrap.js`, prologue
//!   `NS.PEER_HANDSHAKE`) and `Noise_XX_...` (secret-stream's own handshake), mirroring
//!   `noise-handshake` + `noise-curve-ed`.
//! * [`secretstream`]: libsodium `crypto_secretstream_xchacha20poly1305`.
//! * [`datagram`]: unordered encrypted datagrams (`send`/`trySend`, XSalsa20-Poly1305).
//! * [`stream`]: the secret-stream wire protocol (56-byte header message, u24 framing), sans-IO.
//! * [`standalone`]: secret-stream's own framed XX/IK handshake (no pre-made handshake), sans-IO.
//! * [`io`]: [`SecretStreamIo`], the tokio `AsyncRead + AsyncWrite` adapter (keep-alive, timeout).
//!
//! Why not `snow`: snow selects DH functions through its `DHChoice` enum (25519/448 only) and
//! derives the protocol name from it; Ed25519-point DH would have to masquerade as "25519" in a
//! hand-built `NoiseParams`. The state machine is ~200 lines on RustCrypto primitives, checked
//! byte for byte against `vectors-connection/noise.json`, so we own it instead.
#![forbid(unsafe_code)]

pub mod datagram;
pub mod dh;
pub mod handshake;
pub mod io;
pub mod plain_pool;
mod poly_short;
pub mod secretstream;
pub mod standalone;
pub mod stream;
mod symmetric;

pub use datagram::{Datagrams, Opener};
pub use handshake::{Handshake, HandshakeResult, Pattern};
pub use io::SecretStreamIo;
pub use standalone::{FramedHandshake, FramedStep};
pub use stream::{SecretStream, StreamEvent};

/// Errors of this layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretStreamError {
    /// A public key libsodium would reject (small order, non-canonical, identity result).
    InvalidPublicKey,
    /// AEAD authentication failed (tampered or wrong key).
    Decrypt,
    /// A handshake message of the wrong size or out of turn.
    BadHandshake,
    /// The first frame was not a valid 56-byte header (`Invalid header message received`).
    InvalidHeaderMessage,
    /// The header carried the wrong stream id (`Invalid header received`).
    InvalidHeader,
    /// A frame shorter than 17 bytes (`Invalid message received`).
    InvalidMessage,
    /// Plaintext larger than a 24-bit frame can carry.
    MessageTooLarge,
    /// The datagram counter wrapped back to its start.
    NonceExhausted,
}

impl std::fmt::Display for SecretStreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            SecretStreamError::InvalidPublicKey => "Invalid public key",
            SecretStreamError::Decrypt => "Decryption failed",
            SecretStreamError::BadHandshake => "Invalid handshake message",
            SecretStreamError::InvalidHeaderMessage => "Invalid header message received",
            SecretStreamError::InvalidHeader => "Invalid header received",
            SecretStreamError::InvalidMessage => "Invalid message received",
            SecretStreamError::MessageTooLarge => "Message is too large for an atomic write",
            SecretStreamError::NonceExhausted => "udp send nonce exchausted",
        };
        f.write_str(s)
    }
}

impl std::error::Error for SecretStreamError {}

/// BLAKE2b-256 keyed hash (`crypto_generichash(out, msg, key)`), used for stream ids and
/// the holepunch secret.
pub fn keyed_hash(msg: &[u8], key: &[u8]) -> [u8; 32] {
    use blake2::digest::consts::U32;
    use blake2::digest::{KeyInit, Mac};
    let mut m =
        <blake2::Blake2bMac<U32> as KeyInit>::new_from_slice(key).expect("key up to 64 bytes");
    m.update(msg);
    m.finalize().into_bytes().into()
}
