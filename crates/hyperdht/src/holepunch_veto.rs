//! The `holepunch(remoteFirewall, localFirewall, remoteAddresses, localAddresses)` option of
//! `dht.connect()` and `createServer()` (`hyperdht lib/connect.js: holepunch` before
//! `roundPunch`, `lib/server.js: _onpeerholepunch` before `punch`): called once both sides'
//! NATs are known and the remote wants to punch; `false` aborts with HOLEPUNCH_ABORTED.

use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::sync::Arc;

use crate::constants::Firewall;
use crate::core::holepuncher::Puncher;

/// What the veto sees (the puncher's view when the decision is due).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolepunchInfo {
    pub remote_firewall: Firewall,
    pub local_firewall: Firewall,
    pub remote_addresses: Vec<SocketAddrV4>,
    /// `null` in JS until our NAT sampling produced addresses
    pub local_addresses: Option<Vec<SocketAddrV4>>,
}

impl HolepunchInfo {
    /// The puncher's view now: the remote's NAT and addresses, ours from NAT sampling.
    pub(crate) fn of(puncher: &Puncher) -> Self {
        let (local_firewall, local_addresses) = puncher.local();
        HolepunchInfo {
            remote_firewall: puncher.remote_firewall(),
            local_firewall,
            remote_addresses: puncher.remote_addresses().iter().map(|a| a.addr).collect(),
            local_addresses,
        }
    }

    /// Nothing known (the puncher is gone).
    pub(crate) fn unknown() -> Self {
        HolepunchInfo {
            remote_firewall: Firewall::Unknown,
            local_firewall: Firewall::Unknown,
            remote_addresses: Vec::new(),
            local_addresses: None,
        }
    }
}

/// The veto's answer: `true` lets the punch go ahead.
pub type HolepunchFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// A holepunch veto (cheap to clone). In JS the function is synchronous; here it may be async
/// (the napi glue asks JS through its event function).
#[derive(Clone)]
pub struct HolepunchVeto(Arc<dyn Fn(HolepunchInfo) -> HolepunchFuture + Send + Sync>);

impl HolepunchVeto {
    pub fn new(f: impl Fn(HolepunchInfo) -> HolepunchFuture + Send + Sync + 'static) -> Self {
        HolepunchVeto(Arc::new(f))
    }

    /// Asks the veto.
    pub async fn allows(&self, info: HolepunchInfo) -> bool {
        (self.0)(info).await
    }
}

impl std::fmt::Debug for HolepunchVeto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolepunchVeto(..)")
    }
}
