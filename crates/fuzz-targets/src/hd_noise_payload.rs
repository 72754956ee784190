//! `noisePayload` (the payload inside the Noise IK handshake messages). Not an exact format:
//! the encoder writes constant versions (payload, udx, secretStream, relayThrough = 1), and a
//! payload of another version decodes to an empty one.

use hyperdht_core::noise_payload::NoisePayload;

fn normalize(mut v: NoisePayload) -> NoisePayload {
    v.version = 1;
    if let Some(u) = v.udx.as_mut() {
        u.version = 1;
    }
    if v.secret_stream.is_some() {
        v.secret_stream = Some(1);
    }
    if let Some(r) = v.relay_through.as_mut() {
        r.version = 1;
    }
    v
}

pub fn run(data: &[u8]) {
    crate::codec::roundtrip::<NoisePayload>(data, normalize);
}
