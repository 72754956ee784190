'use strict'
// hyperdht's Server (lib/server.js): listen(keyPair) announces and accepts encrypted connections.
const { EventEmitter } = require('events')
const errors = require('./errors')
const Connection = require('./connection')

let nextSid = 1

class Server extends EventEmitter {
  constructor (dht, opts = {}) {
    super()
    this.dht = dht
    this.sid = nextSid++
    this.keyPair = null
    this.closed = false
    this.listening = false
    this.relayAddresses = []
    this.firewall = opts.firewall || null
    this._closing = null
  }

  get publicKey () {
    return this.keyPair && this.keyPair.publicKey
  }

  address () {
    if (!this.keyPair) return null
    const a = this.dht.address()
    return { host: a ? a.host : null, port: a ? a.port : 0, publicKey: this.keyPair.publicKey }
  }

  async listen (keyPair = this.dht.defaultKeyPair) {
    if (this.listening) throw errors.ALREADY_LISTENING()
    this.keyPair = keyPair
    this.listening = true
    this.dht.listening.add(this)
    this.dht._servers.set(this.sid, this)
    await this.dht.ready()
    await this.dht._native.listen(this.sid, { publicKey: keyPair.publicKey, secretKey: keyPair.secretKey })
    this.emit('listening')
  }

  _onconnection (ev) {
    const conn = new Connection(this.dht, false)
    conn._onopen(ev)
    this.emit('connection', conn)
  }

  refresh () {}

  suspend () {}

  resume () {}

  close () {
    if (this._closing) return this._closing
    this._closing = this._close()
    return this._closing
  }

  async _close () {
    this.closed = true
    this.dht.listening.delete(this)
    this.dht._servers.delete(this.sid)
    if (this.listening && !this.dht.destroyed) {
      await this.dht._native.unlisten({ publicKey: this.keyPair.publicKey, secretKey: this.keyPair.secretKey }).catch(() => {})
    }
    this.listening = false
    this.emit('close')
  }
}

module.exports = Server
