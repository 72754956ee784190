'use strict'
// `toJSON()` of a UDX stream in udx-native's shape (udx-native lib/stream.js), shared by the
// raw streams of `dht.createRawStream()` and the `rawStream` of encrypted connections.

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

module.exports = udxStreamJSON
