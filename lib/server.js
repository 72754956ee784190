'use strict'
// hyperdht's Server (lib/server.js): listen(keyPair) announces and accepts encrypted connections.
// Its native half is its own NativeServer (src/server.rs), whose events (accepted connections,
// firewall and holepunch questions) arrive at `_onevent` from listen() until close().
const { EventEmitter } = require('events')
const b4a = require('b4a')
const errors = require('./errors')
const Connection = require('./connection')
const RawStream = require('./raw-stream')
const { RelayPairings, relayKey } = require('./relay')
const { keyPairArg } = require('./keys')
const Persistent = require('./persistent')
const { punchWrapped, answerPunch } = require('./punch-hook')

class Server extends EventEmitter {
  constructor (dht, opts = {}) {
    super()
    this.dht = dht
    this.keyPair = null
    // hyperdht: hash(publicKey) once listening, the topic the server is announced under
    this.target = null
    this.closed = false
    this.listening = false
    this.suspended = false
    // hyperdht: `firewall(remotePublicKey, remotePayload, clientAddress)` and the `holepunch` veto
    // (remoteFirewall, localFirewall, remoteAddresses, localAddresses) => bool are read per
    // handshake (accessors below); the engine asks only for the ones the app set, through
    // `firewall` / `holepunch-veto` events. `holepunch: false` never punches.
    this._firewall = typeof opts.firewall === 'function' ? opts.firewall : null
    this._holepunch = typeof opts.holepunch === 'function' ? opts.holepunch : null
    this._neverPunch = opts.holepunch === false
    this._shareLocalAddress = opts.shareLocalAddress !== false
    this._reusableSocket = !!opts.reusableSocket
    this.pool = opts.pool || null
    // hyperdht: a relay key (or array, or function returning one) every punched connection
    // pairs through (lib/relay.js), and the keep-alive of those relay connections
    this._relayThrough = opts.relayThrough || null
    this.relayKeepAlive = opts.relayKeepAlive || 5000
    this._relays = null
    // hyperdht: how long a finished handshake is remembered for retransmits (ms)
    this.handshakeClearWait = opts.handshakeClearWait || 10000
    // hyperdht `createHandshake(keyPair, null)`: one handshake object per incoming handshake
    // (e.g. a NoiseWrap subclass for a key whose secret lives elsewhere); the engine asks it
    // through `noise-recv` / `noise-send` events. Without it the engine does the handshake.
    this.createHandshake = typeof opts.createHandshake === 'function' ? opts.createHandshake : null
    this._handshakes = new Map() // handshake id -> {hs, at}: objects between recv and send
    this._finals = new Map() // our stream id -> {final, at}: for createSecretStream
    this._signAnnounce = null // listen(keyPair, {signAnnounce, signUnannounce})
    this._signUnannounce = null
    // createSecretStream(isInitiator, rawStream, {handshake, keepAlive}): the app's own
    // secret-stream over the connection's raw UDX stream (the engine only does the handshake)
    this.createSecretStream = opts.createSecretStream || null
    this._closing = null
    this._native = dht.destroyed ? null : dht._native.createServer()
  }

  // hyperdht's defaults: allow every client, punch whenever asked
  get firewall () {
    return this._firewall || allowAll
  }

  set firewall (fn) {
    this._firewall = typeof fn === 'function' && fn !== allowAll ? fn : null
    this._syncAsks()
  }

  get holepunch () {
    return this._holepunch || punchAlways
  }

  set holepunch (fn) {
    this._holepunch = typeof fn === 'function' && fn !== punchAlways ? fn : null
    this._syncAsks()
  }

  // the engine asks before punching back when there is a veto, or while Holepuncher.prototype._punch
  // is wrapped (lib/punch-hook.js; read when listening starts and when a veto is assigned)
  _asksVeto () {
    return this._holepunch !== null || punchWrapped()
  }

  _syncAsks () {
    if (this.listening && this._native !== null && !this.dht.destroyed) {
      this._native.setAsks(this._firewall !== null, this._asksVeto())
    }
  }

  // hyperdht reads relayThrough per handshake: a new value reaches the engine at once
  get relayThrough () {
    return this._relayThrough
  }

  set relayThrough (value) {
    this._relayThrough = value || null
    if (this.listening && this._native !== null && this._closing === null && !this.dht.destroyed) {
      const ask = this._relayAsk()
      this._native.setRelayThrough(ask ? undefined : relayKey(this._relayThrough) || undefined, ask)
    }
  }

  get relayAddresses () {
    if (!this.listening || this._closing !== null || this.dht.destroyed) return []
    return this._native.relayAddresses()
  }

  // hyperdht's array of handshake state objects, by the holepunch id clients echo (null where a
  // slot is free). A snapshot read from the engine on each access, with the fields upstream's
  // objects have that mean something here: round, aborted (the punch ended before a direct
  // path took over: the client aborted, punching ran out, or the server gave up), relayPaired.
  get _holepunches () {
    if (!this.listening || this._closing !== null || this.dht.destroyed) return []
    return this._native.holepunches()
  }

  get publicKey () {
    return this.keyPair && this.keyPair.publicKey
  }

  address () {
    if (!this.keyPair) return null
    // hyperdht: the node's address as the DHT sees it (NAT sampling), not the bound socket's
    return { publicKey: this.keyPair.publicKey, host: this.dht.host, port: this.dht.port }
  }

  async listen (keyPair = this.dht.defaultKeyPair, opts = {}) {
    if (this.listening) throw errors.ALREADY_LISTENING()
    if (this.dht.destroyed) throw errors.NODE_DESTROYED()
    // hyperdht: on a closed (or closing) server listen() only waits for the socket and resolves,
    // announcing nothing; the server counts as listening from then on (another listen() throws)
    // and has no key pair
    if (this._closing !== null) return this._listenClosed()
    const kp = keyPairArg(keyPair)
    const external = this.createHandshake !== null
    if (!kp.secretKey && !external) throw new TypeError('keyPair.secretKey is required to listen without createHandshake')
    // hyperdht's announcer signs with `opts.signAnnounce || Persistent.signAnnounce` (which
    // prefers keyPair.sign): here in JS when the app brings a signer, else in the engine
    const sign = !!(opts.signAnnounce || opts.signUnannounce) || (!kp.secretKey && typeof keyPair.sign === 'function')
    if (!kp.secretKey && !sign) throw new TypeError('keyPair.secretKey, keyPair.sign or opts.signAnnounce is required to listen')
    this._signAnnounce = opts.signAnnounce || Persistent.signAnnounce
    this._signUnannounce = opts.signUnannounce || Persistent.signUnannounce
    for (const s of this.dht.listening) {
      if (s !== this && s.keyPair && b4a.equals(s.keyPair.publicKey, keyPair.publicKey)) throw errors.KEYPAIR_ALREADY_USED()
    }
    this.keyPair = keyPair
    this.target = this.dht.constructor.hash(kp.publicKey)
    this.listening = true
    this.dht.listening.add(this)
    let asked = null // the firewall and veto the native listen was told about
    try {
      await this.dht.ready()
      // hyperdht: close() (or the node's destroy) while listen() waits ends it quietly
      if (this._closing) return this._stoppedListening()
      asked = [this._firewall !== null, this._asksVeto(), this._relayThrough]
      await this._native.listen({ publicKey: kp.publicKey, secretKey: kp.secretKey || undefined }, {
        firewall: this._firewall !== null,
        holepunch: !this._neverPunch,
        holepunchVeto: this._asksVeto(),
        shareLocalAddress: this._shareLocalAddress,
        reusableSocket: this._reusableSocket,
        relayThrough: this._relayAsk() ? undefined : relayKey(this.relayThrough) || undefined,
        relayAsk: this._relayAsk(),
        relays: true,
        externalHandshake: external,
        sign
      }, (ev) => this._onevent(ev))
    } catch (err) {
      this._stoppedListening()
      if (this._closing) return this
      throw err
    }
    // close() came while the first announce was in flight: its native close may have run before
    // the native listen took the key (the two race on the engine's threads), so close again
    if (this._closing) {
      if (!this.dht.destroyed) await this._native.close().catch(() => {})
      return this._stoppedListening()
    }
    // a firewall or veto assigned while the native listen was under way
    if (asked[0] !== (this._firewall !== null) || asked[1] !== this._asksVeto()) this._syncAsks()
    if (asked[2] !== this._relayThrough) this.relayThrough = this._relayThrough
    if (this.pool) this.pool._attachServer(this)
    this.emit('listening')
    return this
  }

  _stoppedListening () {
    this.listening = false
    this.dht.listening.delete(this)
    return this
  }

  _onevent (ev) {
    switch (ev.type) {
      case 'connection': return this._onconnection(ev.connection, ev.info)
      case 'firewall': return this._onfirewall(ev)
      case 'holepunch-veto': return this._onholepunchveto(ev.id, ev.veto)
      case 'relay-through': return this._native.relayThroughReply(ev.id, relayKey(this.relayThrough) || undefined)
      case 'relay': return this._relayPairings().pair(ev.request)
      case 'relay-close': return this._relays && this._relays.close(ev.id, true)
      case 'noise-recv': return this._onnoiserecv(ev.id, ev.handshake, ev.noise)
      case 'noise-send': return this._onnoisesend(ev.id, ev.handshake, ev.payload)
      case 'sign': return this._onsign(ev)
    }
  }

  // hyperdht announcer: `ann.signature = await this._signAnnounce(this.target, token, from.id,
  // ann, this.keyPair)` (or `_signUnannounce`); asked while listening and during close()
  _onsign (ev) {
    const fn = ev.unannounce ? this._signUnannounce : this._signAnnounce
    const ann = { peer: { publicKey: this.keyPair.publicKey, relayAddresses: [] }, refresh: null, signature: null }
    Promise.resolve()
      .then(() => fn(ev.target, ev.token, ev.nodeId, ann, this.keyPair))
      .then((sig) => b4a.toBuffer(sig), () => null)
      .then((sig) => { if (!this.dht.destroyed) this._native.signReply(ev.id, sig) })
  }

  // hyperdht `_addHandshake`: `handshake = this.createHandshake(this._keyPair, null)` reads the
  // client's message 1...
  _onnoiserecv (id, handshakeId, noise) {
    const now = Date.now()
    expire(this._handshakes, now)
    expire(this._finals, now)
    let hs = null
    Promise.resolve()
      .then(() => {
        hs = this.createHandshake(this.keyPair, null)
        return hs.recv(noise)
      })
      .then((payload) => {
        if (!payload || !hs.remotePublicKey) return null
        this._handshakes.set(handshakeId, { hs, at: now })
        return { payload: messages().encode(payload), remotePublicKey: b4a.toBuffer(hs.remotePublicKey) }
      })
      .catch(() => null)
      .then((answer) => this._noiseReply(id, answer))
  }

  // ...and writes message 2; `final()` is kept for the app's createSecretStream
  _onnoisesend (id, handshakeId, payload) {
    const entry = this._handshakes.get(handshakeId)
    this._handshakes.delete(handshakeId)
    Promise.resolve()
      .then(() => {
        const decoded = messages().decode(payload)
        return Promise.resolve(entry.hs.send(decoded)).then((noise) => {
          const f = entry.hs.final()
          // the engine runs secret-stream unless the app does: it needs the keys then
          if (this.createSecretStream === null && !(f.hash && f.tx && f.rx)) return null
          if (decoded.udx) this._finals.set(decoded.udx.id, { final: f, at: Date.now() })
          return {
            noise: b4a.toBuffer(noise),
            publicKey: f.publicKey,
            remotePublicKey: f.remotePublicKey || entry.hs.remotePublicKey,
            holepunchSecret: f.holepunchSecret,
            hash: f.hash,
            tx: f.tx,
            rx: f.rx
          }
        })
      })
      .catch(() => null)
      .then((answer) => this._noiseReply(id, answer))
  }

  _noiseReply (id, answer) {
    if (this._closing === null && !this.dht.destroyed) this._native.noiseReply(id, answer)
  }

  // `selectRelay(this.relayThrough)` runs per handshake unless relayThrough is a plain key
  _relayAsk () {
    return typeof this.relayThrough === 'function' || Array.isArray(this.relayThrough)
  }

  // hyperdht `_relayConnection`: the blind-relay connections of this server's handshakes
  _relayPairings () {
    if (this._relays === null) {
      this._relays = new RelayPairings(this.dht, this.relayKeepAlive, (id, host, port, remoteId) =>
        this._closing === null && !this.dht.destroyed && this._native.relayReply(id, host, port, remoteId))
    }
    return this._relays
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
    if (!this.dht.destroyed) this._native.firewallReply(ev.id, reject)
  }

  // createServer({holepunch}): asked (remoteFirewall, localFirewall, remoteAddresses,
  // localAddresses) before punching back; throwing or falsy = do not punch
  _onholepunchveto (id, v) {
    let allow = false
    try {
      allow = !!this.holepunch(v.remoteFirewall, v.localFirewall, v.remoteAddresses, v.localAddresses === undefined ? null : v.localAddresses)
    } catch {
      allow = false
    }
    // a wrapped Holepuncher.prototype._punch runs first (lib/punch-hook.js)
    answerPunch(this.dht, false, v, allow, (go) => { if (!this.dht.destroyed) this._native.holepunchReply(id, go) })
  }

  // an accepted connection (`handle`, a NativeConnection) becomes this server's `connection`.
  // Also after close(): the engine answered its handshake before the server closed and the client
  // may already be open (hyperdht emits such a connection at once, before close() can run; a
  // close() does not end established connections). A node being destroyed drops it, as
  // hyperdht's destroy clears every raw stream (it arrived after that sweep of our connections).
  _onconnection (handle, info) {
    if (this.dht.destroyed || this.dht._destroying !== null) {
      handle.destroy()
      return
    }
    if (this.createSecretStream !== null) return this._onrawconnection(handle, info)
    const conn = new Connection(this.dht, false, { keepAlive: this.dht.connectionKeepAlive })
    conn._attach(handle)
    this.dht._conns.add(conn)
    handle.start((ev) => conn._onevent(ev))
    conn._onopen(info)
    this.onconnection(conn)
  }

  // hyperdht `_addHandshake`/`onsocket`: `this.createSecretStream(false, rawStream, {handshake,
  // keepAlive})` over the accepted connection's bare stream
  _onrawconnection (handle, info) {
    // an app's handshake object: its own final() (it may keep the keys in there its own way)
    const external = this._finals.get(info.streamId)
    this._finals.delete(info.streamId)
    let hs = null
    const native = this.dht._native.adoptConnection(handle, (h) => { hs = h })
    if (!native || hs === null) return
    const rawStream = new RawStream(this.dht, native, { framed: true })
    this.dht._rawStreams.add(rawStream)
    rawStream.connect(this.dht._socket, hs.remoteId, hs.remotePort, hs.remoteHost)
    const handshake = external ? external.final : {
      isInitiator: false,
      publicKey: hs.publicKey,
      remotePublicKey: hs.remotePublicKey,
      hash: hs.hash,
      tx: hs.tx,
      rx: hs.rx
    }
    const socket = this.createSecretStream(false, rawStream, { handshake, keepAlive: this.dht.connectionKeepAlive })
    this.onconnection(socket)
  }

  // hyperdht: every accepted connection goes through here (a subclass may override it)
  onconnection (encryptedSocket) {
    this.emit('connection', encryptedSocket)
  }

  // hyperdht wakes its announcer when the node comes back online; the engine's announcer
  // polls the node's state every second while offline (upstream's own loop), nothing to wake
  notifyOnline () {}

  refresh () {
    if (this.listening && this._closing === null && !this.dht.destroyed) this._native.refresh()
  }

  async suspend ({ log = noop } = {}) {
    log('Suspending hyperdht server')
    log('Suspending hyperdht server (post listening)')
    const wasSuspended = this.suspended
    this.suspended = true
    if (!this.listening || this._closing !== null || this.dht.destroyed) return
    // hyperdht's announcer (silent when already suspended): these steps run in the engine
    if (!wasSuspended) {
      log('Suspending announcer')
      log('Suspending announcer (post update)')
      log('Suspending announcer (pre unannounce)')
    }
    await this._native.suspend(true)
    if (!wasSuspended) log('Suspending announcer (post unannounce)')
  }

  async resume () {
    this.suspended = false
    if (this.listening && this._closing === null && !this.dht.destroyed) await this._native.suspend(false)
  }

  async _listenClosed () {
    this.listening = true
    this.dht.listening.add(this)
    try {
      await this.dht.bind()
    } catch (err) {
      this.listening = false
      this.dht.listening.delete(this)
      throw err
    }
    return this
  }

  close () {
    if (this._closing) return this._closing
    this._closing = this._close()
    return this._closing
  }

  async _close () {
    this._handshakes.clear()
    this._finals.clear()
    this.dht.listening.delete(this)
    // hyperdht: a server that is not listening (never was, or its listen failed) is closed at
    // once, `close` emitted within close(); else `closed` turns true once the close is done,
    // right before `close`
    if (!this.listening) {
      this.closed = true
      this.emit('close')
      return
    }
    if (!this.dht.destroyed) await this._native.close().catch(() => {})
    this.listening = false
    // hyperdht _stopListening drops the key pair: publicKey and address() are null from here
    this.keyPair = null
    this.closed = true
    this.emit('close')
  }
}

// handshake objects and results a handshake never came back for (a rejected or vanished client)
// go after this long (the engine gives up on a handshake after 20 s)
const HANDSHAKE_EXPIRY = 60000

function expire (map, now) {
  for (const [k, v] of map) {
    if (now - v.at > HANDSHAKE_EXPIRY) map.delete(k)
  }
}

// lib/messages.js's noisePayload codec (loaded on first use)
let codec = null
function messages () {
  if (codec === null) {
    const c = require('compact-encoding')
    const { noisePayload } = require('./messages')
    codec = { encode: (p) => c.encode(noisePayload, p), decode: (b) => c.decode(noisePayload, b) }
  }
  return codec
}

function allowAll () {
  return false
}

function punchAlways () {
  return true
}

function noop () {}

module.exports = Server
