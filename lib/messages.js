'use strict'
// hyperdht's wire messages as compact-encoding codecs ({ preencode, encode, decode } over a
// `{ start, end, buffer }` state), so `c.encode(m.peer, ...)` / `c.decode(m.announce, buf)` work
// exactly like with `require('hyperdht/lib/messages')` (6.34): same exports, same bytes, same
// decoded shapes (key order included). The Rust engine has its own codecs; these are for JS callers.
//
// Encodings that upstream keeps private (address, relay, udx, ... sub-records) are attached
// as non-enumerable properties, so Object.keys() of this module lists exactly upstream's exports.

const c = require('compact-encoding')

// --- helpers ------------------------------------------------------------------------------------

// Optional fields are only on the wire when their bit is set in the record's flags.
function has (flags, bit) {
  return (flags & bit) !== 0
}

// compact-encoding's ipvXAddress decoders also return `family`; hyperdht hands out only
// { host, port }, so wrap the decoder and keep the (identical) encoder.
function plainAddress (enc) {
  return {
    preencode (state, addr) {
      enc.preencode(state, addr)
    },
    encode (state, addr) {
      enc.encode(state, addr)
    },
    decode (state) {
      const { host, port } = enc.decode(state)
      return { host, port }
    }
  }
}

const ipv4 = plainAddress(c.ipv4Address) // 4 bytes address + uint16le port = 6 bytes
const ipv6 = plainAddress(c.ipv6Address) // 16 + 2 = 18 bytes
const ipv4Array = c.array(ipv4)
const ipv6Array = c.array(ipv6)

// --- sub-records of the noise payload -----------------------------------------------------------

// One relay a holepunch may go through: where the relay is and where it saw the peer.
const relayInfo = {
  preencode (state, r) {
    ipv4.preencode(state, r.relayAddress)
    ipv4.preencode(state, r.peerAddress)
  },
  encode (state, r) {
    ipv4.encode(state, r.relayAddress)
    ipv4.encode(state, r.peerAddress)
  },
  decode (state) {
    const relayAddress = ipv4.decode(state)
    const peerAddress = ipv4.decode(state)
    return { relayAddress, peerAddress }
  }
}
const relayInfoArray = c.array(relayInfo)

const holepunchInfo = {
  preencode (state, h) {
    c.uint.preencode(state, h.id)
    relayInfoArray.preencode(state, h.relays)
  },
  encode (state, h) {
    c.uint.encode(state, h.id)
    relayInfoArray.encode(state, h.relays)
  },
  decode (state) {
    const id = c.uint.decode(state)
    const relays = relayInfoArray.decode(state)
    return { id, relays }
  }
}

// The UDX stream offer: always written as version 1; feature bit 1 = reusable socket.
const UDX_VERSION = 1
const UDX_REUSABLE_SOCKET = 1

const udxInfo = {
  preencode (state, u) {
    c.uint.preencode(state, UDX_VERSION)
    c.uint.preencode(state, u.reusableSocket ? UDX_REUSABLE_SOCKET : 0)
    c.uint.preencode(state, u.id)
    c.uint.preencode(state, u.seq)
  },
  encode (state, u) {
    c.uint.encode(state, UDX_VERSION)
    c.uint.encode(state, u.reusableSocket ? UDX_REUSABLE_SOCKET : 0)
    c.uint.encode(state, u.id)
    c.uint.encode(state, u.seq)
  },
  decode (state) {
    const version = c.uint.decode(state)
    const features = c.uint.decode(state)
    const id = c.uint.decode(state)
    const seq = c.uint.decode(state)
    return { version, reusableSocket: has(features, UDX_REUSABLE_SOCKET), id, seq }
  }
}

// The secret-stream offer carries nothing but its version (always 1 when we write it).
const secretStreamInfo = {
  preencode (state) {
    c.uint.preencode(state, 1)
  },
  encode (state) {
    c.uint.encode(state, 1)
  },
  decode (state) {
    return { version: c.uint.decode(state) }
  }
}

// Blind-relay offer: version 1, flags 0, relay public key and pairing token.
const relayThroughInfo = {
  preencode (state, r) {
    c.uint.preencode(state, 1)
    c.uint.preencode(state, 0)
    c.fixed32.preencode(state, r.publicKey)
    c.fixed32.preencode(state, r.token)
  },
  encode (state, r) {
    c.uint.encode(state, 1)
    c.uint.encode(state, 0)
    c.fixed32.encode(state, r.publicKey)
    c.fixed32.encode(state, r.token)
  },
  decode (state) {
    const version = c.uint.decode(state)
    c.uint.decode(state) // flags, none defined yet
    const publicKey = c.fixed32.decode(state)
    const token = c.fixed32.decode(state)
    return { version, publicKey, token }
  }
}

// --- noisePayload: what travels inside the Noise IK handshake messages ---------------------------

const NOISE_PAYLOAD_VERSION = 1

// Optional sections, in wire order: [flag bit, field name, codec, present(m)].
const nonEmpty = (list) => !!(list && list.length)
const NOISE_SECTIONS = [
  [1, 'holepunch', holepunchInfo, (v) => !!v],
  [2, 'addresses4', ipv4Array, nonEmpty],
  [4, 'addresses6', ipv6Array, nonEmpty],
  [8, 'udx', udxInfo, (v) => !!v],
  [16, 'secretStream', secretStreamInfo, (v) => !!v],
  [32, 'relayThrough', relayThroughInfo, (v) => !!v],
  [64, 'relayAddresses', ipv4Array, (v) => !!v]
]
// What a section decodes to when its flag is absent (the address lists default to []).
function noiseDefault (name) {
  return name === 'addresses4' || name === 'addresses6' ? [] : null
}

const noisePayload = {
  preencode (state, m) {
    let flags = 0
    for (const [bit, name, , present] of NOISE_SECTIONS) if (present(m[name])) flags |= bit
    c.uint.preencode(state, NOISE_PAYLOAD_VERSION)
    c.uint.preencode(state, flags)
    c.uint.preencode(state, m.error)
    c.uint.preencode(state, m.firewall)
    for (const [, name, enc, present] of NOISE_SECTIONS) {
      if (present(m[name])) enc.preencode(state, m[name])
    }
  },
  encode (state, m) {
    let flags = 0
    for (const [bit, name, , present] of NOISE_SECTIONS) if (present(m[name])) flags |= bit
    c.uint.encode(state, NOISE_PAYLOAD_VERSION)
    c.uint.encode(state, flags)
    c.uint.encode(state, m.error)
    c.uint.encode(state, m.firewall)
    for (const [, name, enc, present] of NOISE_SECTIONS) {
      if (present(m[name])) enc.encode(state, m[name])
    }
  },
  decode (state) {
    const version = c.uint.decode(state)
    const out = { version, error: 0, firewall: 0 }

    // A payload from a newer version is not parsed further: the caller sees the version and
    // decides (hyperdht answers VERSION_MISMATCH).
    if (version !== NOISE_PAYLOAD_VERSION) {
      for (const [, name] of NOISE_SECTIONS) out[name] = noiseDefault(name)
      return out
    }

    const flags = c.uint.decode(state)
    out.error = c.uint.decode(state)
    out.firewall = c.uint.decode(state)
    for (const [bit, name, enc] of NOISE_SECTIONS) {
      out[name] = has(flags, bit) ? enc.decode(state) : noiseDefault(name)
    }
    return out
  }
}

// --- PEER_HANDSHAKE / PEER_HOLEPUNCH request values (what relays see) ---------------------------

const handshake = {
  preencode (state, m) {
    c.uint.preencode(state, (m.peerAddress ? 1 : 0) | (m.relayAddress ? 2 : 0))
    c.uint.preencode(state, m.mode)
    c.buffer.preencode(state, m.noise)
    if (m.peerAddress) ipv4.preencode(state, m.peerAddress)
    if (m.relayAddress) ipv4.preencode(state, m.relayAddress)
  },
  encode (state, m) {
    c.uint.encode(state, (m.peerAddress ? 1 : 0) | (m.relayAddress ? 2 : 0))
    c.uint.encode(state, m.mode)
    c.buffer.encode(state, m.noise)
    if (m.peerAddress) ipv4.encode(state, m.peerAddress)
    if (m.relayAddress) ipv4.encode(state, m.relayAddress)
  },
  decode (state) {
    const flags = c.uint.decode(state)
    const mode = c.uint.decode(state)
    const noise = c.buffer.decode(state)
    const peerAddress = has(flags, 1) ? ipv4.decode(state) : null
    const relayAddress = has(flags, 2) ? ipv4.decode(state) : null
    return { mode, noise, peerAddress, relayAddress }
  }
}

const holepunch = {
  preencode (state, m) {
    c.uint.preencode(state, m.peerAddress ? 1 : 0)
    c.uint.preencode(state, m.mode)
    c.uint.preencode(state, m.id)
    c.buffer.preencode(state, m.payload)
    if (m.peerAddress) ipv4.preencode(state, m.peerAddress)
  },
  encode (state, m) {
    c.uint.encode(state, m.peerAddress ? 1 : 0)
    c.uint.encode(state, m.mode)
    c.uint.encode(state, m.id)
    c.buffer.encode(state, m.payload)
    if (m.peerAddress) ipv4.encode(state, m.peerAddress)
  },
  decode (state) {
    const flags = c.uint.decode(state)
    const mode = c.uint.decode(state)
    const id = c.uint.decode(state)
    const payload = c.buffer.decode(state)
    const peerAddress = has(flags, 1) ? ipv4.decode(state) : null
    return { mode, id, payload, peerAddress }
  }
}

// The (encrypted) payload exchanged between the two peers during holepunching.
function holepunchFlags (m) {
  return (m.connected ? 1 : 0) |
    (m.punching ? 2 : 0) |
    (m.addresses ? 4 : 0) |
    (m.remoteAddress ? 8 : 0) |
    (m.token ? 16 : 0) |
    (m.remoteToken ? 32 : 0)
}

const holepunchPayload = {
  preencode (state, m) {
    c.uint.preencode(state, holepunchFlags(m))
    c.uint.preencode(state, m.error)
    c.uint.preencode(state, m.firewall)
    c.uint.preencode(state, m.round)
    if (m.addresses) ipv4Array.preencode(state, m.addresses)
    if (m.remoteAddress) ipv4.preencode(state, m.remoteAddress)
    if (m.token) c.fixed32.preencode(state, m.token)
    if (m.remoteToken) c.fixed32.preencode(state, m.remoteToken)
  },
  encode (state, m) {
    c.uint.encode(state, holepunchFlags(m))
    c.uint.encode(state, m.error)
    c.uint.encode(state, m.firewall)
    c.uint.encode(state, m.round)
    if (m.addresses) ipv4Array.encode(state, m.addresses)
    if (m.remoteAddress) ipv4.encode(state, m.remoteAddress)
    if (m.token) c.fixed32.encode(state, m.token)
    if (m.remoteToken) c.fixed32.encode(state, m.remoteToken)
  },
  decode (state) {
    const flags = c.uint.decode(state)
    const error = c.uint.decode(state)
    const firewall = c.uint.decode(state)
    const round = c.uint.decode(state)
    return {
      error,
      firewall,
      round,
      connected: has(flags, 1),
      punching: has(flags, 2),
      addresses: has(flags, 4) ? ipv4Array.decode(state) : null,
      remoteAddress: has(flags, 8) ? ipv4.decode(state) : null,
      token: has(flags, 16) ? c.fixed32.decode(state) : null,
      remoteToken: has(flags, 32) ? c.fixed32.decode(state) : null
    }
  }
}

// --- records: peers, announcements, mutable values ----------------------------------------------

const peer = {
  preencode (state, p) {
    c.fixed32.preencode(state, p.publicKey)
    ipv4Array.preencode(state, p.relayAddresses)
  },
  encode (state, p) {
    c.fixed32.encode(state, p.publicKey)
    ipv4Array.encode(state, p.relayAddresses)
  },
  decode (state) {
    const publicKey = c.fixed32.decode(state)
    const relayAddresses = ipv4Array.decode(state)
    return { publicKey, relayAddresses }
  }
}

const peers = c.array(peer)

// LOOKUP replies as a storing node writes them: the peers are already-encoded `peer` records
// (kept raw in its cache), followed by the bump counter; readers get decoded peers. Old nodes
// omit the bump, so a missing one reads as 0.
const rawPeers = c.array(c.raw)

const lookupRawReply = {
  preencode (state, r) {
    rawPeers.preencode(state, r.peers)
    c.uint.preencode(state, r.bump)
  },
  encode (state, r) {
    rawPeers.encode(state, r.peers)
    c.uint.encode(state, r.bump)
  },
  decode (state) {
    const list = peers.decode(state)
    const bump = state.start < state.end ? c.uint.decode(state) : 0
    return { peers: list, bump }
  }
}

function announceFlags (a) {
  return (a.peer ? 1 : 0) | (a.refresh ? 2 : 0) | (a.signature ? 4 : 0) | (a.bump ? 8 : 0)
}

const announce = {
  preencode (state, a) {
    c.uint.preencode(state, announceFlags(a))
    if (a.peer) peer.preencode(state, a.peer)
    if (a.refresh) c.fixed32.preencode(state, a.refresh)
    if (a.signature) c.fixed64.preencode(state, a.signature)
    if (a.bump) c.uint.preencode(state, a.bump)
  },
  encode (state, a) {
    c.uint.encode(state, announceFlags(a))
    if (a.peer) peer.encode(state, a.peer)
    if (a.refresh) c.fixed32.encode(state, a.refresh)
    if (a.signature) c.fixed64.encode(state, a.signature)
    if (a.bump) c.uint.encode(state, a.bump)
  },
  decode (state) {
    const flags = c.uint.decode(state)
    return {
      peer: has(flags, 1) ? peer.decode(state) : null,
      refresh: has(flags, 2) ? c.fixed32.decode(state) : null,
      signature: has(flags, 4) ? c.fixed64.decode(state) : null,
      bump: has(flags, 8) ? c.uint.decode(state) : 0
    }
  }
}

// What a mutable record's signature covers: seq then value.
const mutableSignable = {
  preencode (state, r) {
    c.uint.preencode(state, r.seq)
    c.buffer.preencode(state, r.value)
  },
  encode (state, r) {
    c.uint.encode(state, r.seq)
    c.buffer.encode(state, r.value)
  },
  decode (state) {
    const seq = c.uint.decode(state)
    const value = c.buffer.decode(state)
    return { seq, value }
  }
}

const mutablePutRequest = {
  preencode (state, r) {
    c.fixed32.preencode(state, r.publicKey)
    mutableSignable.preencode(state, r)
    c.fixed64.preencode(state, r.signature)
  },
  encode (state, r) {
    c.fixed32.encode(state, r.publicKey)
    mutableSignable.encode(state, r)
    c.fixed64.encode(state, r.signature)
  },
  decode (state) {
    const publicKey = c.fixed32.decode(state)
    const { seq, value } = mutableSignable.decode(state)
    const signature = c.fixed64.decode(state)
    return { publicKey, seq, value, signature }
  }
}

const mutableGetResponse = {
  preencode (state, r) {
    mutableSignable.preencode(state, r)
    c.fixed64.preencode(state, r.signature)
  },
  encode (state, r) {
    mutableSignable.encode(state, r)
    c.fixed64.encode(state, r.signature)
  },
  decode (state) {
    const { seq, value } = mutableSignable.decode(state)
    const signature = c.fixed64.decode(state)
    return { seq, value, signature }
  }
}

// --- PLUGIN command value -----------------------------------------------------------------------

const pluginRequest = {
  preencode (state, r) {
    c.string.preencode(state, r.plugin)
    c.uint.preencode(state, r.version)
    c.uint.preencode(state, r.command)
    c.uint.preencode(state, r.value ? 1 : 0)
    if (r.value) c.buffer.preencode(state, r.value)
  },
  encode (state, r) {
    c.string.encode(state, r.plugin)
    c.uint.encode(state, r.version)
    c.uint.encode(state, r.command)
    c.uint.encode(state, r.value ? 1 : 0)
    if (r.value) c.buffer.encode(state, r.value)
  },
  decode (state) {
    const plugin = c.string.decode(state)
    const version = c.uint.decode(state)
    const command = c.uint.decode(state)
    const flags = c.uint.decode(state)
    const value = has(flags, 1) ? c.buffer.decode(state) : null
    return { plugin, version, command, value }
  }
}

// Upstream's export order.
module.exports = {
  handshake,
  noisePayload,
  holepunch,
  holepunchPayload,
  peer,
  peers,
  lookupRawReply,
  announce,
  mutableSignable,
  mutablePutRequest,
  mutableGetResponse,
  pluginRequest
}

const internals = {
  ipv4,
  ipv6,
  ipv4Array,
  ipv6Array,
  relayInfo,
  relayInfoArray,
  holepunchInfo,
  udxInfo,
  secretStreamInfo,
  relayThroughInfo,
  rawPeers
}
for (const [name, enc] of Object.entries(internals)) {
  Object.defineProperty(module.exports, name, { value: enc, enumerable: false })
}
