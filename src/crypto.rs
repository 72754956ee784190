//! `DHT.keyPair(seed?)` and `DHT.hash(data)` (hyperdht lib/crypto.js).

use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(object)]
pub struct JsKeyPair {
    pub public_key: Buffer,
    pub secret_key: Buffer,
}

/// Same keys as libsodium `crypto_sign_seed_keypair`; random when no seed is given.
#[napi(catch_unwind)]
pub fn key_pair(seed: Option<&[u8]>) -> Result<JsKeyPair> {
    let kp = match seed {
        Some(s) => {
            let seed: [u8; 32] = s
                .try_into()
                .map_err(|_| Error::new(Status::InvalidArg, "seed must be 32 bytes"))?;
            hyperdht_crypto::KeyPair::from_seed(&seed)
        }
        None => hyperdht_crypto::KeyPair::generate(),
    };
    Ok(JsKeyPair {
        public_key: kp.public_key.to_vec().into(),
        secret_key: kp.secret_key.to_vec().into(),
    })
}

/// BLAKE2b-256, like sodium `crypto_generichash` with a 32-byte output.
#[napi(catch_unwind)]
pub fn hash(data: &[u8]) -> Buffer {
    hyperdht_crypto::hash(data).to_vec().into()
}
