//! Round-trip tokens (`dht-rpc lib/io.js: IO.token, IO._drain`): keyed BLAKE2b-256 of the
//! requester's host string with one of two rotating secrets.

use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use blake2::{Blake2b, Blake2bMac, Digest};
use std::net::Ipv4Addr;
use subtle::ConstantTimeEq;

const ROTATE_EVERY_DRAINS: u32 = 10;

#[derive(Debug, Clone)]
pub struct Tokens {
    secrets: Option<[[u8; 32]; 2]>,
    drains: u32,
}

impl Default for Tokens {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokens {
    pub fn new() -> Self {
        Tokens {
            secrets: None,
            drains: ROTATE_EVERY_DRAINS,
        }
    }

    /// Fixed secrets (tests / vectors).
    pub fn with_secrets(a: [u8; 32], b: [u8; 32]) -> Self {
        Tokens {
            secrets: Some([a, b]),
            drains: ROTATE_EVERY_DRAINS,
        }
    }

    fn secrets(&mut self) -> &[[u8; 32]; 2] {
        self.secrets.get_or_insert_with(|| {
            let mut s = [[0u8; 32]; 2];
            for x in s.iter_mut() {
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), x);
            }
            s
        })
    }

    /// `token(addr, i)`: only the host is hashed, never the port.
    pub fn token(&mut self, host: &Ipv4Addr, i: usize) -> [u8; 32] {
        let secret = self.secrets()[i & 1];
        let mut mac =
            <Blake2bMac<U32> as KeyInit>::new_from_slice(&secret).expect("32-byte key is valid");
        mac.update(host.to_string().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Accepts tokens made with either secret.
    pub fn validate(&mut self, host: &Ipv4Addr, token: &[u8; 32]) -> bool {
        // constant time: a timing side channel must not reveal how much of a guess matched
        let a = self.token(host, 1).ct_eq(token);
        let b = self.token(host, 0).ct_eq(token);
        bool::from(a | b)
    }

    /// One 750 ms drain; every 10th rotates: `new[0] = old[1]`, `new[1] = hash(old[0])`.
    pub fn drain(&mut self) {
        let Some(s) = self.secrets.as_mut() else {
            return;
        };
        self.drains -= 1;
        if self.drains > 0 {
            return;
        }
        self.drains = ROTATE_EVERY_DRAINS;
        let next: [u8; 32] = Blake2b::<U32>::digest(s[0]).into();
        s[0] = s[1];
        s[1] = next;
    }
}
