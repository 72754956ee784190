//! The `holepunch(remoteFirewall, localFirewall, remoteAddresses, localAddresses)` option of
//! `dht.connect()` and `createServer()` (`hyperdht lib/connect.js: holepunch` before
//! `roundPunch`, `lib/server.js: _onpeerholepunch` before `punch`): called once both sides'
//! NATs are known and the remote wants to punch; `false` aborts with HOLEPUNCH_ABORTED.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::core::holepuncher::HolepunchInfo;

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
