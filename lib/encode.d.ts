// Types for lib/encode.js (hyperdht's lib/encode.js: `require('hyperdht-rs/lib/encode')`).
/// <reference types="node" />
import { Codec } from './messages'

/** Encodes `value` with a compact-encoding codec into a Buffer that owns its memory. */
export declare function encodeUnslab<T>(enc: Codec<T, unknown>, value: T): Buffer
