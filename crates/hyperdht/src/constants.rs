//! Connection-layer enums of `hyperdht lib/constants.js` (`FIREWALL`, `ERROR`), carried as
//! uints in handshake and holepunch payloads.

/// `FIREWALL`: a peer's NAT type as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Firewall {
    Unknown,
    Open,
    Consistent,
    Random,
}

impl Firewall {
    pub fn code(self) -> u64 {
        match self {
            Firewall::Unknown => 0,
            Firewall::Open => 1,
            Firewall::Consistent => 2,
            Firewall::Random => 3,
        }
    }

    /// Unknown codes (from newer peers) read as `Unknown`, which never punches.
    pub fn from_code(c: u64) -> Self {
        match c {
            1 => Firewall::Open,
            2 => Firewall::Consistent,
            3 => Firewall::Random,
            _ => Firewall::Unknown,
        }
    }

    /// `coerceFirewall` (`lib/holepuncher.js`): OPEN punches like CONSISTENT.
    pub fn coerced(self) -> Self {
        if self == Firewall::Open {
            Firewall::Consistent
        } else {
            self
        }
    }

    /// `isConsistent` (`lib/server.js`).
    pub fn is_consistent(self) -> bool {
        matches!(self, Firewall::Open | Firewall::Consistent)
    }
}

/// `ERROR` as used in handshake and holepunch payloads (not dht-rpc error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    None,
    Aborted,
    VersionMismatch,
    TryLater,
    /// A code this port does not know; treated as an abort.
    Other(u64),
}

impl PayloadError {
    pub fn code(self) -> u64 {
        match self {
            PayloadError::None => 0,
            PayloadError::Aborted => 1,
            PayloadError::VersionMismatch => 2,
            PayloadError::TryLater => 3,
            PayloadError::Other(c) => c,
        }
    }

    pub fn from_code(c: u64) -> Self {
        match c {
            0 => PayloadError::None,
            1 => PayloadError::Aborted,
            2 => PayloadError::VersionMismatch,
            3 => PayloadError::TryLater,
            c => PayloadError::Other(c),
        }
    }
}
