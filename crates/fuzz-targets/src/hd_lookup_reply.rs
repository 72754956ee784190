//! `lookupRawReply` (LOOKUP reply values): peers, then a bump read only if bytes remain.
//! Re-encoding from the raw records must give the same bytes as the typed encoder.

use hyperdht_core::messages::LookupReply;
use hyperdht_encoding::Codec;

pub fn run(data: &[u8]) {
    let Some(v) = crate::codec::exact::<LookupReply>(data) else {
        return;
    };
    let raw: Vec<Vec<u8>> = v.peers.iter().map(|p| p.to_bytes()).collect();
    let refs: Vec<&[u8]> = raw.iter().map(|r| r.as_slice()).collect();
    assert_eq!(LookupReply::encode_raw(&refs, v.bump), v.to_bytes());
}
