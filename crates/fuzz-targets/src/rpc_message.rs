//! The dht-rpc frame (`dht-rpc lib/io.js`): request and response decoding, as every datagram
//! reaching a node's sockets goes through it. Round-trip: decode → encode → decode gives the
//! same frame, and the encoding is never longer than what was decoded (so re-encoding a frame
//! received within the 2048-byte limit never crosses it).

use hyperdht_rpc::messages::{self, Frame, MAX_DATAGRAM};

pub fn run(data: &[u8]) {
    let Some(frame) = messages::decode(data) else {
        return;
    };
    let bytes = match &frame {
        Frame::Request(r) => r.encode(),
        Frame::Response(r) => r.encode(),
    };
    assert!(
        bytes.len() <= data.len().min(MAX_DATAGRAM),
        "re-encoding grew: {} > {}",
        bytes.len(),
        data.len()
    );
    let back = messages::decode(&bytes).expect("re-encoded frame decodes");
    assert_eq!(back, frame);
}
