'use strict'
// What the raw streams of `dht.createRawStream()` and the `rawStream` of encrypted connections
// share of udx-native's stream shape (udx-native lib/stream.js): `toJSON()` and the counter
// getters.

function udxStreamJSON (s) {
  const socket = s.socket
  return {
    id: s.id,
    connected: s.connected,
    destroying: s.destroying,
    destroyed: s.destroyed,
    remoteId: s.remoteId,
    remoteHost: s.remoteHost,
    remoteFamily: s.remoteFamily,
    remotePort: s.remotePort,
    mtu: s.mtu,
    rtt: s.rtt,
    cwnd: s.cwnd,
    inflight: s.inflight,
    socket: socket ? socket.toJSON() : null
  }
}

// udx-native's stream counters, read from the object's `_counters()` (the last values once
// closed); `bbrState` is libudx's state number (0 startup, 1 drain, 2 probe bandwidth, 3 probe
// RTT), `bbrBandwidth` the bottleneck bandwidth estimate in bytes per second
const COUNTERS = ['bytesTransmitted', 'packetsTransmitted', 'bytesReceived', 'packetsReceived', 'retransmits',
  'rtoCount', 'fastRecoveries', 'cwnd', 'inflight', 'bbrState', 'bbrBandwidth']

const EMPTY_STATS = Object.freeze({ ...Object.fromEntries(COUNTERS.map((k) => [k, 0])), remoteId: 0 })

/** Defines the counter getters on `Class.prototype`. */
function defineCounters (Class) {
  for (const name of COUNTERS) {
    Object.defineProperty(Class.prototype, name, {
      get () { return this._counters()[name] },
      configurable: true
    })
  }
}

module.exports = udxStreamJSON
module.exports.defineCounters = defineCounters
module.exports.EMPTY_STATS = EMPTY_STATS
