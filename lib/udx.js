'use strict'
// `dht.udx`: the part of udx-native's UDX object that code written for hyperdht reaches for
// (`createSocket()` to send raw datagrams, `networkInterfaces()`), over node:dgram. UDX streams
// themselves live in the Rust engine; `createStream` is not offered here.
// Mirrors udx-native lib/udx.js + lib/socket.js (bind/send/trySend/address/close, 'message').
const dgram = require('dgram')
const os = require('os')
const net = require('net')
const { EventEmitter } = require('events')

class UDXSocket extends EventEmitter {
  constructor (opts = {}) {
    super()
    this._ipv6Only = !!opts.ipv6Only
    this._reuseAddress = !!opts.reuseAddress
    this._socket = null
    this._address = null
    this._closing = null
    this.closing = false
    this.bytesTransmitted = 0
    this.packetsTransmitted = 0
    this.bytesReceived = 0
    this.packetsReceived = 0
  }

  get bound () {
    return this._address !== null
  }

  get idle () {
    return true
  }

  get busy () {
    return false
  }

  address () {
    return this._address
  }

  bind (port = 0, host) {
    if (this.bound) throw new Error('Already bound')
    if (this.closing) throw new Error('Socket is closed')
    const family = host ? net.isIP(host) : 4
    if (!family) throw new Error(`${host} is not a valid IP address`)
    if (!host) host = '0.0.0.0'
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: this._ipv6Only, reuseAddr: this._reuseAddress })
    sock.on('message', (buf, rinfo) => {
      this.bytesReceived += buf.byteLength
      this.packetsReceived++
      this.emit('message', buf, { host: rinfo.address, family: rinfo.family === 'IPv6' ? 6 : 4, port: rinfo.port })
    })
    sock.on('error', (err) => this.emit('error', err))
    this._socket = sock
    // node:dgram binds asynchronously: the port is filled in once bound, and sends wait for it
    this._address = { host, family, port: 0 }
    this._bound = new Promise((resolve, reject) => {
      sock.once('error', reject)
      sock.bind(port, host, () => {
        sock.off('error', reject)
        this._address.port = sock.address().port
        this.emit('listening')
        resolve()
      })
    })
    this._bound.catch(() => {})
  }

  async send (buffer, port, host = '127.0.0.1', ttl) {
    if (this.closing) return false
    if (!net.isIP(host)) throw new Error(`${host} is not a valid IP address`)
    if (!this.bound) this.bind(0)
    try {
      await this._bound
      if (ttl) this._socket.setTTL(ttl)
      await new Promise((resolve, reject) => this._socket.send(buffer, port, host, (err) => (err ? reject(err) : resolve())))
      this.bytesTransmitted += buffer.byteLength
      this.packetsTransmitted++
      return true
    } catch {
      return false
    }
  }

  trySend (buffer, port, host, ttl) {
    this.send(buffer, port, host, ttl).catch(() => {})
  }

  setTTL (ttl) {
    if (this._socket) this._socket.setTTL(ttl)
  }

  async close () {
    if (this._closing) return this._closing
    this.closing = true
    this._closing = (async () => {
      if (this._socket) {
        await this._bound.catch(() => {})
        await new Promise((resolve) => this._socket.close(resolve))
      }
      this.emit('close')
    })()
    return this._closing
  }
}

// udx-native counts every datagram of a UDX instance: its sockets, their streams. Ours are the
// engine's sockets (the DHT's, with every connection on it) plus the sockets made here. Each
// counter and the engine's `io` counter it adds.
const ENGINE_COUNTERS = {
  bytesTransmitted: 'bytesOut',
  packetsTransmitted: 'datagramsOut',
  bytesReceived: 'bytesIn',
  packetsReceived: 'datagramsIn'
}

class UDX {
  /** `engineCounters()`: the engine's `io` counters (datagramsIn, bytesOut, ...), or null. */
  constructor (engineCounters = () => null) {
    this._engineCounters = engineCounters
    this._sockets = new Set()
    // what the sockets closed so far counted
    this._closedTotals = {}
    for (const name in ENGINE_COUNTERS) this._closedTotals[name] = 0
  }

  createSocket (opts) {
    const socket = new UDXSocket(opts)
    this._sockets.add(socket)
    socket.once('close', () => {
      this._sockets.delete(socket)
      for (const name in ENGINE_COUNTERS) this._closedTotals[name] += socket[name]
    })
    return socket
  }

  _count (name) {
    let n = this._closedTotals[name]
    for (const s of this._sockets) n += s[name]
    const io = this._engineCounters()
    return io ? n + (io[ENGINE_COUNTERS[name]] || 0) : n
  }

  get bytesTransmitted () { return this._count('bytesTransmitted') }
  get packetsTransmitted () { return this._count('packetsTransmitted') }
  get bytesReceived () { return this._count('bytesReceived') }
  get packetsReceived () { return this._count('packetsReceived') }
  // the engine does not read the kernel's drop counter (SO_RXQ_OVFL)
  get packetsDroppedByKernel () { return 0 }

  createStream () {
    throw new Error('UDX streams are not exposed by hyperdht-rs; use dht.createRawStream()')
  }

  /** udx-native's interface list: `{ name, host, family, internal }` per address. */
  networkInterfaces () {
    const out = []
    for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
      for (const a of addrs || []) {
        out.push({ name, host: a.address, family: a.family === 'IPv6' || a.family === 6 ? 6 : 4, internal: a.internal })
      }
    }
    return out
  }
}

module.exports = UDX
module.exports.UDXSocket = UDXSocket
