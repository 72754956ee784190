//! `holepunchPayload` (the plaintext inside a PEER_HOLEPUNCH secure payload), plus the typed
//! views of its raw `error` / `firewall` codes.

use hyperdht_core::constants::{Firewall, PayloadError};
use hyperdht_core::messages::HolepunchPayload;

pub fn run(data: &[u8]) {
    let Some(v) = crate::codec::exact::<HolepunchPayload>(data) else {
        return;
    };
    assert_eq!(PayloadError::from_code(v.error).code(), v.error);
    let fw = Firewall::from_code(v.firewall);
    if v.firewall <= 3 {
        assert_eq!(fw.code(), v.firewall);
    } else {
        assert_eq!(fw, Firewall::Unknown);
    }
    assert!(fw.coerced() != Firewall::Open);
}
