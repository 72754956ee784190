//! Errors of the dht-rpc layer (mirrors `dht-rpc lib/errors.js` codes).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// No reply after all retries (`REQUEST_TIMEOUT`).
    RequestTimeout,
    /// The request was cancelled (session/query destroyed, `REQUEST_DESTROYED`).
    RequestDestroyed,
    /// The node was destroyed (`Node destroyed`).
    Destroyed,
    /// The node was suspended while the request was pending (`IO_SUSPENDED`).
    Suspended,
    /// The driver task panicked; the DHT is unusable (`DRIVER_FAILED`).
    DriverFailed(String),
    /// Too many requests in flight ([`crate::node::MAX_INFLIGHT`]); dht-rpc has no such bound.
    Overloaded,
    /// A query ended with no closest replies (`Too few nodes responded`).
    TooFewNodes,
    /// Could not bind a socket.
    Bind(String),
    /// Invalid argument from the caller.
    InvalidArgument(String),
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RpcError::RequestTimeout => f.write_str("REQUEST_TIMEOUT: Request timed out"),
            RpcError::RequestDestroyed => f.write_str("REQUEST_DESTROYED: Request destroyed"),
            RpcError::Destroyed => f.write_str("NODE_DESTROYED: Node destroyed"),
            RpcError::Suspended => f.write_str("IO_SUSPENDED: I/O suspended"),
            RpcError::DriverFailed(m) => write!(f, "DRIVER_FAILED: DHT driver failed: {m}"),
            RpcError::Overloaded => f.write_str("REQUEST_OVERLOADED: Too many requests in flight"),
            RpcError::TooFewNodes => f.write_str("Too few nodes responded"),
            RpcError::Bind(e) => write!(f, "Could not bind: {e}"),
            RpcError::InvalidArgument(e) => write!(f, "Invalid argument: {e}"),
        }
    }
}

impl std::error::Error for RpcError {}
