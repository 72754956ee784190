//! The errors a connect fails with, with hyperdht's codes and messages (`lib/errors.js`).

/// Errors with hyperdht's codes (`lib/errors.js`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    PeerNotFound,
    PeerConnectionFailed,
    HandshakeInvalid,
    ServerIncompatible,
    ServerError(String),
    CannotHolepunch,
    HolepunchAborted,
    HolepunchProbeTimeout,
    HolepunchDoubleRandomizedNats,
    HolepunchInvalid,
    BadHolepunchReply,
    RemoteAborted(u64),
    RemoteNotHolepunching,
    RemoteNotHolepunchable,
    /// the blind relay did not pair, and no other path worked
    RelayAborted,
}

impl ConnectError {
    /// The JS `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::PeerNotFound => "PEER_NOT_FOUND",
            ConnectError::PeerConnectionFailed => "PEER_CONNECTION_FAILED",
            ConnectError::HandshakeInvalid => "HANDSHAKE_INVALID",
            ConnectError::ServerIncompatible => "SERVER_INCOMPATIBLE",
            ConnectError::ServerError(_) => "SERVER_ERROR",
            ConnectError::CannotHolepunch => "CANNOT_HOLEPUNCH",
            ConnectError::HolepunchAborted => "HOLEPUNCH_ABORTED",
            ConnectError::HolepunchProbeTimeout => "HOLEPUNCH_PROBE_TIMEOUT",
            ConnectError::HolepunchDoubleRandomizedNats => "HOLEPUNCH_DOUBLE_RANDOMIZED_NATS",
            ConnectError::HolepunchInvalid => "HOLEPUNCH_INVALID",
            ConnectError::BadHolepunchReply => "BAD_HOLEPUNCH_REPLY",
            ConnectError::RemoteAborted(_) => "REMOTE_ABORTED",
            ConnectError::RemoteNotHolepunching => "REMOTE_NOT_HOLEPUNCHING",
            ConnectError::RemoteNotHolepunchable => "REMOTE_NOT_HOLEPUNCHABLE",
            ConnectError::RelayAborted => "RELAY_ABORTED",
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = match self {
            ConnectError::PeerNotFound => "Peer not found".to_string(),
            ConnectError::PeerConnectionFailed => "Could not connect to peer".to_string(),
            ConnectError::HandshakeInvalid => "Received invalid handshake".to_string(),
            ConnectError::ServerIncompatible => "Server is using an incompatible version".into(),
            ConnectError::ServerError(m) => m.clone(),
            ConnectError::CannotHolepunch => "Cannot holepunch to remote".to_string(),
            ConnectError::HolepunchAborted => "Holepunch aborted".to_string(),
            ConnectError::HolepunchProbeTimeout => "Holepunching probe did not finish".into(),
            ConnectError::HolepunchDoubleRandomizedNats => {
                "Both remote and local NATs are randomized".to_string()
            }
            ConnectError::HolepunchInvalid => "Invalid holepunch payload".to_string(),
            ConnectError::BadHolepunchReply => "Bad holepunch reply".to_string(),
            ConnectError::RemoteAborted(c) => format!("Remote aborted with error code {c}"),
            ConnectError::RemoteNotHolepunching => "Remote is not holepunching".to_string(),
            ConnectError::RemoteNotHolepunchable => "Remote is not holepunchable".to_string(),
            ConnectError::RelayAborted => "Relay aborted".to_string(),
        };
        write!(f, "{}: {msg}", self.code())
    }
}

impl std::error::Error for ConnectError {}
