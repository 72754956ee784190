// Types for lib/crypto.js (hyperdht's lib/crypto.js: `require('hyperdht-rs/lib/crypto')`).
/// <reference types="node" />

/** BLAKE2b-256 of any typed array. */
export declare function hash(data: ArrayBufferView): Buffer

/** The same hash in memory of its own (here every hash is). */
export declare function unslabbedHash(data: ArrayBufferView): Buffer

/** Ed25519 key pair; deterministic with a 32-byte seed (RangeError otherwise). */
export declare function createKeyPair(seed?: ArrayBufferView | null): { publicKey: Buffer; secretKey: Buffer }
