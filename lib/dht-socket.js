'use strict'
// The DHT's UDP socket as JS sees it: what udx-native's UDXSocket is in hyperdht for
// `encryptedStream.rawStream.socket`, `dht.io.serverSocket` and the `socket` argument of
// `rawStream.connect()` (udx-native lib/socket.js: address(), bound, closing, idle/busy, 'close').
// One object per native socket: the engine carries every UDX stream (encrypted connections and raw
// streams) and dht-rpc traffic on the DHT's one server socket, so a DHT has exactly one of these,
// and two connections share a socket exactly when they see the same object.
const { EventEmitter } = require('events')

class DHTSocket extends EventEmitter {
  constructor (dht) {
    super()
    this.udx = dht.udx
    this.closing = false
    this._dht = dht
    this._address = null
  }

  get bound () {
    return !this.closing
  }

  // upstream's socket pool lingers idle sockets; this one is owned by the DHT
  get idle () {
    return false
  }

  get busy () {
    return true
  }

  /** `{ host, family, port }` as bound, like udx-native; null once closed. */
  address () {
    if (this.closing || this._dht._bindError) return null
    if (this._address === null) {
      const a = this._dht._native.info().localAddress
      if (!a || !a.port) return a || null
      this._address = a
    }
    return this._address
  }

  toJSON () {
    return { bound: this.bound, closing: this.closing, address: this.address() }
  }

  /** The DHT is gone (called by index.js). */
  _onclose () {
    if (this.closing) return
    this.closing = true
    this.emit('close')
  }
}

module.exports = DHTSocket
