'use strict'
// hyperdht's Server (lib/server.js): listen(keyPair) announces and accepts encrypted connections.
const { EventEmitter } = require('events')
const b4a = require('b4a')
const errors = require('./errors')
const Connection = require('./connection')
const { keyPairArg } = require('./keys')

let nextSid = 1

class Server extends EventEmitter {
  constructor (dht, opts = {}) {
    super()
    this.dht = dht
    this.sid = nextSid++
    this.keyPair = null
    // hyperdht: hash(publicKey) once listening, the topic the server is announced under
    this.target = null
    this.closed = false
    this.listening = false
    this.suspended = false
    this.firewall = opts.firewall || null
    // hyperdht: `holepunch` is a veto function (remoteFirewall, localFirewall, remoteAddresses,
    // localAddresses) => bool, asked through `holepunch-veto` events; `false` never punches
    this.holepunch = typeof opts.holepunch === 'function' ? opts.holepunch : null
    this._neverPunch = opts.holepunch === false
    this._shareLocalAddress = opts.shareLocalAddress !== false
    this._reusableSocket = !!opts.reusableSocket
    this.pool = opts.pool || null
    // hyperdht: how long a finished handshake is remembered for retransmits (ms)
    this.handshakeClearWait = opts.handshakeClearWait || 10000
    // hyperdht's external-key servers (createHandshake / createSecretStream, used with a keyPair
    // that has no secretKey) run the Noise handshake in JS objects; here the handshake runs in
    // the engine, so listen() refuses them instead of failing on the first connection
    this._externalHandshake = !!(opts.createHandshake || opts.createSecretStream)
    this._closing = null
  }

  get relayAddresses () {
    if (!this.listening || this.closed || this.dht.destroyed) return []
    return this.dht._native.serverRelayAddresses(this.keyPair.publicKey)
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
    if (this.dht.destroyed) throw errors.NODE_DESTROYED()
    const kp = keyPairArg(keyPair)
    if (this._externalHandshake) throw new Error('createHandshake / createSecretStream are not supported by hyperdht-rs (the Noise handshake runs in the engine)')
    if (!kp.secretKey) throw new TypeError('keyPair.secretKey is required to listen (hyperdht-rs runs the server\'s Noise handshake in the engine)')
    for (const s of this.dht.listening) {
      if (s !== this && s.keyPair && b4a.equals(s.keyPair.publicKey, keyPair.publicKey)) throw errors.KEYPAIR_ALREADY_USED()
    }
    this.keyPair = keyPair
    this.target = this.dht.constructor.hash(kp.publicKey)
    this.listening = true
    this.dht.listening.add(this)
    this.dht._servers.set(this.sid, this)
    try {
      await this.dht.ready()
      await this.dht._native.listen(this.sid, kp, {
        firewall: typeof this.firewall === 'function',
        holepunch: !this._neverPunch,
        holepunchVeto: this.holepunch !== null,
        shareLocalAddress: this._shareLocalAddress,
        reusableSocket: this._reusableSocket
      })
    } catch (err) {
      this.listening = false
      this.dht.listening.delete(this)
      this.dht._servers.delete(this.sid)
      throw err
    }
    if (this.pool) this.pool._attachServer(this)
    this.emit('listening')
    return this
  }

  // hyperdht server.js: `hs.firewalled = await this.firewall(remotePublicKey, remotePayload,
  // clientAddress)`; a throwing firewall rejects
  async _onfirewall (ev) {
    let reject = true
    try {
      const payload = ev.payload || {}
      const remotePayload = {
        version: payload.version,
        error: payload.error,
        firewall: payload.firewall,
        holepunch: payload.holepunchId === undefined || payload.holepunchId === null ? null : { id: payload.holepunchId, relays: [] },
        addresses4: payload.addresses4 || [],
        addresses6: [],
        udx: payload.udx || null,
        secretStream: payload.secretStream === undefined || payload.secretStream === null ? null : { version: payload.secretStream },
        relayThrough: null,
        relayAddresses: payload.relayAddresses || null
      }
      const clientAddress = { host: ev.remoteHost, port: ev.remotePort }
      reject = !!(await this.firewall(ev.remotePublicKey, remotePayload, clientAddress))
    } catch {
      reject = true
    }
    if (!this.dht.destroyed) this.dht._native.firewallReply(ev.fid, reject)
  }

  _onconnection (ev) {
    const conn = new Connection(this.dht, false, { keepAlive: this.dht.connectionKeepAlive })
    this.dht._conns.set(ev.cid, conn)
    conn._onopen(ev)
    this.emit('connection', conn)
  }

  refresh () {
    if (this.listening && !this.closed && !this.dht.destroyed) this.dht._native.serverRefresh(this.keyPair.publicKey)
  }

  async suspend () {
    this.suspended = true
    if (this.listening && !this.closed && !this.dht.destroyed) await this.dht._native.serverSuspend(this.keyPair.publicKey, true)
  }

  async resume () {
    this.suspended = false
    if (this.listening && !this.closed && !this.dht.destroyed) await this.dht._native.serverSuspend(this.keyPair.publicKey, false)
  }

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
