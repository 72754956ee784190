'use strict'
// The JS face of an encrypted connection: a streamx Duplex with the lifecycle of
// @hyperswarm/secret-stream's NoiseSecretStream (index.js there), which is what hyperdht hands out:
// * `open` is emitted once, after the handshake (streamx `_open` waits for the native open), with
//   `connect` just before it; `publicKey`, `remotePublicKey`, `handshakeHash`, `rawStream` are set
//   by then. `write()`/`end()` before open are held by streamx and run after it.
// * `opened` resolves true on open, false when the stream is destroyed before it.
// * the stream closes when both sides ended (streamx auto-destroy after `end` + `finish`), or on
//   destroy/error; `close` waits for the native connection to be gone.
// * `keepAlive` is set from the constructor (hyperdht passes dht.connectionKeepAlive) and applied
//   to the native stream on open; `setKeepAlive`/`setTimeout` before open are remembered.
// The native half is this object's own NativeConnection (src/connection.rs), there from the moment
// `dht.connect()` returns (an accepted connection's comes with the server's event); its events
// (`open`, `data`, `end`, `drain`, `close`, and a dial's `holepunch-veto` / `lan-ping` questions)
// arrive at `_onevent`. Writes are queued in Rust (bounded) and `drain` releases a held write.
const { RelayPairings } = require('./relay')
const { EventEmitter } = require('events')
const { Duplex, Writable, getStreamError } = require('streamx')
const b4a = require('b4a')
const c = require('compact-encoding')
const errors = require('./errors')
const udxStreamJSON = require('./udx-stream-json')
const { defineCounters, EMPTY_STATS } = udxStreamJSON
const { answerPunch } = require('./punch-hook')
const m = require('./messages')
const { ReadFlow, READ_HWM, setWriteHighWaterMark } = require('./read-flow')
const { connectionWrite } = require('../binding.js')

// secretstream's per-message overhead: NoiseSecretStream counts raw bytes as the encrypted message
// (rawBytesRead: plaintext + ABYTES) and the whole frame (rawBytesWritten: + 3-byte length)
const ABYTES = 17
const FRAME_HEADER = 3

class Connection extends Duplex {
  constructor (dht, isInitiator, { publicKey = null, remotePublicKey = null, keepAlive = 0, holepunch = null, relayKeepAlive = 5000 } = {}) {
    super({ highWaterMark: READ_HWM, mapWritable: toBuffer })
    setWriteHighWaterMark(this)
    this.dht = dht
    this.isInitiator = isInitiator
    this.noiseStream = this
    this.publicKey = publicKey
    this.remotePublicKey = remotePublicKey
    this.handshakeHash = null
    this.connected = false
    this.keepAlive = keepAlive || 0
    this.timeout = 0
    this.userData = null
    // rawBytesRead / rawBytesWritten: the frames JS saw plus the keep-alives the engine sent and
    // filtered (hyperswarm keeps the newer of two connections to a peer when the older one
    // counts bytes both ways: a peer that restarted has an idle connection with keep-alives only)
    this._rawRead = 0
    this._rawWritten = 0
    this._keepAlives = [0, 0] // [sent, received and filtered], as last read from the engine
    this.rawStream = null
    // secret-stream: with `enableSend` false, the peer's `send()` datagrams are not emitted
    this.enableSend = true
    // metadata hyperdht sets
    this.relay = null
    this.puncher = null

    this._handle = null // the NativeConnection
    this._writer = null // what connectionWrite writes through (set with the handle)
    this._isOpen = false // the native connection is open (its details are set)
    this._holepunch = holepunch // connect({holepunch}): asked through `holepunch-veto` events
    this._relays = null // blind-relay connections (lib/relay.js), made on `relay` events
    this._relayKeepAlive = relayKeepAlive
    this._openDone = null
    this._onrawopen = null // set by index.js for connect({createSecretStream})
    this._handshake = null // connect({createHandshake}): the app's handshake object
    this._handshakeResult = null // and what its final() returned
    this._pendingWrite = null
    this._nativeClosed = false
    // destroy() was called (not streamx's own destroy after a clean end of both sides)
    this._destroyCalled = false
    this._flow = new ReadFlow({
      setPaused: (paused) => this._handle.setPaused(paused),
      live: () => this._live()
    })
    this._destroyDone = null
    this._openedDone = null
    this.opened = new Promise((resolve) => { this._openedDone = resolve })

    // like NoiseSecretStream: wiggle the stream so streamx calls _open right away
    this.resume()
    this.pause()
  }

  /** How the connection was made (not in hyperdht; see index.d.ts ConnectionPath); null before open. */
  get path () {
    const p = this._isOpen && this._handle !== null ? this._handle.pathInfo() : null
    if (!p) return null
    if (p.relayThrough === undefined) p.relayThrough = null
    if (p.punchMs === undefined) p.punchMs = null
    return p
  }

  /** Takes `handle` (a NativeConnection) as this stream's native half. */
  _attach (handle) {
    this._handle = handle
    this._writer = handle.writer() // for connectionWrite (src/connection/write.rs)
    // direct deliveries on the JS thread: `buffer.subarray(start, end)` is the message
    handle.setOnData((buf, start, end) => this._ondata(start === 0 && end === buf.byteLength ? buf : buf.subarray(start, end)))
  }

  /** The native events, in order; a `close` is the last. */
  _onevent (ev) {
    switch (ev.type) {
      case 'data': return this._ondata(ev.data)
      case 'end': return this._onend()
      case 'drain': return this._ondrain()
      case 'open': return this._onopen(ev.info)
      case 'close': return this._onclose(ev.error)
      case 'holepunch-veto': return this._onholepunchveto(ev.id, ev.veto)
      case 'lan-ping': return this._onlanping(ev.id, ev.host, ev.port)
      case 'relay': return this._relayPairings().pair(ev.request)
      case 'relay-close': return this._relays && this._relays.close(ev.id, true)
      case 'remote-changed': return this.rawStream !== null && this.rawStream.emit('remote-changed')
      case 'message': return this.enableSend && this.emit('message', ev.data)
      case 'noise-send': return this._onnoisesend(ev.id, ev.payload)
      case 'noise-recv': return this._onnoiserecv(ev.id, ev.noise)
    }
  }

  // connect({createHandshake}): the app's handshake object writes message 1...
  _onnoisesend (id, payload) {
    const hs = this._handshake
    Promise.resolve()
      .then(() => hs.send(c.decode(m.noisePayload, payload)))
      .then((noise) => ({ noise: b4a.toBuffer(noise) }), () => null)
      .then((answer) => { if (!this._nativeClosed) this._handle.noiseReply(id, answer) })
  }

  // ...and reads the server's message 2; `final()` is kept for the app's createSecretStream
  _onnoiserecv (id, noise) {
    const hs = this._handshake
    Promise.resolve()
      .then(() => hs.recv(noise))
      .then((payload) => {
        const f = hs.final()
        // the engine runs secret-stream unless the app does: it needs the keys then
        if (this._onrawopen === null && !(f.hash && f.tx && f.rx)) return null
        this._handshakeResult = f
        return {
          payload: c.encode(m.noisePayload, payload),
          publicKey: f.publicKey,
          remotePublicKey: f.remotePublicKey || hs.remotePublicKey,
          holepunchSecret: f.holepunchSecret,
          hash: f.hash,
          tx: f.tx,
          rx: f.rx
        }
      })
      .catch(() => null)
      .then((answer) => { if (!this._nativeClosed) this._handle.noiseReply(id, answer) })
  }

  // hyperdht `relayConnection`: the blind-relay connections of this connection (client side)
  _relayPairings () {
    if (this._relays === null) {
      this._relays = new RelayPairings(this.dht, this._relayKeepAlive, (id, host, port, remoteId) =>
        !this._nativeClosed && this._handle.relayReply(id, host, port, remoteId))
    }
    return this._relays
  }

  // streamx: runs once, on the next tick; open completes when the native connection is open
  _open (cb) {
    if (this._isOpen) return this._completeOpen(cb)
    this._openDone = cb
  }

  /** The native connection is open (client: handshake done; server: accepted). */
  _onopen (info) {
    // a raw dial (connect({createSecretStream})): index.js adopts the bare stream
    if (this._onrawopen !== null && !this.destroying) return this._onrawopen()
    if (this.destroying) {
      // destroyed while the open was on its way: the native side goes too
      this._handle.destroy()
      return
    }
    this._isOpen = true
    // one Buffer: remotePublicKey | publicKey | handshakeHash (src/connection.rs JsConnectionInfo)
    const keys = info.keys
    this.remotePublicKey = keys.subarray(0, 32)
    this.publicKey = keys.subarray(32, 64)
    this.handshakeHash = keys.subarray(64, 128)
    this.rawStream = new RawStreamInfo(this, info)
    if (this.keepAlive) this._handle.setKeepAlive(this.keepAlive)
    if (this.timeout) this._handle.setTimeout(this.timeout)
    if (this._openDone !== null) {
      const cb = this._openDone
      this._openDone = null
      this._completeOpen(cb)
    }
  }

  _completeOpen (cb) {
    // secret-stream's _setupSecretStream: `handshake` once the keys are set, before `connect`
    // (a server's stream emitted it before hyperdht handed it to the app: nobody hears it)
    if (this.isInitiator) this.emit('handshake')
    this._resolveOpened(true)
    cb(null)
  }

  _resolveOpened (val) {
    if (this._openedDone === null) return
    const done = this._openedDone
    this._openedDone = null
    done(val)
    if (!val) return
    this.connected = true
    this.emit('connect')
  }

  /** The connect failed before the stream opened. */
  _onfail (err) {
    this.destroy(err)
  }

  // connect({holepunch}): hyperdht asks it (remoteFirewall, localFirewall, remoteAddresses,
  // localAddresses) before punching; throwing or falsy = do not punch. Then a wrapped
  // `Holepuncher.prototype._punch` runs (lib/punch-hook.js).
  _onholepunchveto (id, v) {
    let allow = false
    try {
      allow = typeof this._holepunch !== 'function' || !!this._holepunch(v.remoteFirewall, v.localFirewall, v.remoteAddresses, v.localAddresses === undefined ? null : v.localAddresses)
    } catch {
      allow = false
    }
    answerPunch(this.dht, true, v, allow, (go) => { if (!this._nativeClosed) this._handle.answer(id, go) })
  }

  // hyperdht's LAN shortcut pings through dht.ping (an app may have replaced it)
  _onlanping (id, host, port) {
    Promise.resolve()
      .then(() => this.dht.ping({ host, port }))
      .then(() => true, () => false)
      .then((ok) => { if (!this.dht.destroyed) this._handle.answer(id, ok) })
  }

  _ondata (data) {
    this._rawRead += data.byteLength + ABYTES
    this._flow.push(this, data)
  }

  _read (cb) {
    this._flow.read()
    cb(null)
  }

  _onend () {
    this.push(null)
  }

  _ondrain () {
    if (this._pendingWrite) this._flushPending()
  }

  /** The native connection is gone (error = why, null after a clean end of both sides). */
  _onclose (error) {
    if (this._nativeClosed) return
    this.dht._conns.delete(this)
    if (this.rawStream !== null && this._isOpen) this.rawStream._now() // its last remote
    this._nativeClosed = true
    // `rawStream.on('close', () => destroyRelayConnection(c))`
    if (this._relays !== null) this._relays.closeAll()
    if (this.rawStream !== null && this._isOpen) this._rawClosed(error)
    if (error && error.startsWith('RELAY_ABORTED') && this._relays !== null && this._relays.failure) {
      // `maybeDestroyEncryptedSocket(c, err || RELAY_ABORTED())`: the relay's own error
      this.destroy(this._relays.failure)
    } else if (error) this.destroy(errors.fromNative(error))
    else if (this._pendingWrite !== null) this.destroy(errors.DESTROYED())
    // a clean close: streamx auto-destroys once `end` and `finish` were both emitted
    const cb = this._destroyDone
    this._destroyDone = null
    if (cb) cb(null)
  }

  // The UDX stream closed: udx-native's `error` and `close` on `rawStream`. A failed or destroyed
  // stream closes before NoiseSecretStream does (which watches it); after a clean end of both
  // sides NoiseSecretStream has already closed by the time the UDX stream finishes its own close.
  _rawClosed (error) {
    const raw = this.rawStream
    // NoiseSecretStream always listens on its rawStream: an error there never goes uncaught.
    // A local destroy(err) destroys the raw stream with that error (secret-stream _predestroy:
    // rawStream.destroy(getStreamError(this))); a failure of the stream itself comes as `error`
    const local = this._destroyCalled ? getStreamError(this) : null
    const rawError = local || (error && !this._destroyCalled ? errors.fromNative(error) : null)
    if (rawError && raw.listenerCount('error') > 0) raw.emit('error', rawError)
    if (error || this._destroyCalled) raw.emit('close')
    else this.once('close', () => raw.emit('close'))
  }

  // hands `data` to the native connection; false when its queue is full (wait for `drain`)
  _send (data) {
    if (!connectionWrite(this._writer, data)) return false
    this._rawWritten += data.byteLength + FRAME_HEADER + ABYTES
    return true
  }

  _flushPending () {
    const { data, cb } = this._pendingWrite
    if (this._send(data)) {
      this._pendingWrite = null
      cb(null)
    }
  }

  _write (data, cb) {
    if (!this._live()) return cb(errors.DESTROYED())
    if (this._send(data)) return cb(null)
    // the native queue is full: held until `drain`
    this._pendingWrite = { data, cb }
  }

  _final (cb) {
    // NoiseSecretStream clears its keep-alive when it ends
    this.keepAlive = 0
    if (this._live()) this._handle.end()
    cb(null)
  }

  _predestroy () {
    this._destroyCalled = true
    if (this._handle !== null && !this._nativeClosed) this._handle.destroy()
    if (this._openDone !== null) {
      const cb = this._openDone
      this._openDone = null
      cb(new Error('Stream destroyed'))
    }
    if (this._pendingWrite !== null) {
      const { cb } = this._pendingWrite
      this._pendingWrite = null
      cb(new Error('Stream destroyed'))
    }
  }

  _destroy (cb) {
    this._resolveOpened(false)
    if (this._isOpen) {
      // NoiseSecretStream clears its running keep-alive and timeout timers (and their values)
      this.keepAlive = 0
      this.timeout = 0
      // like NoiseSecretStream, `close` waits for the underlying stream to close
      if (!this._nativeClosed) {
        this._destroyDone = cb
        return
      }
    }
    this.dht._conns.delete(this)
    cb(null)
  }


  get rawBytesRead () {
    return this._rawRead + this._keepAliveCounts()[1] * ABYTES
  }

  get rawBytesWritten () {
    return this._rawWritten + this._keepAliveCounts()[0] * (FRAME_HEADER + ABYTES)
  }

  _keepAliveCounts () {
    if (this._live()) this._keepAlives = this._handle.keepAliveCounts()
    return this._keepAlives
  }

  /** Resolves true once every byte written so far was handed on (NoiseSecretStream.flush). */
  async flush () {
    if ((await this.opened) === false) return false
    if ((await Writable.drained(this)) === false) return false
    if (this.destroying) return false
    return true
  }

  setKeepAlive (ms) {
    this.keepAlive = ms || 0
    if (this._live()) this._handle.setKeepAlive(this.keepAlive)
  }

  sendKeepAlive () {
    if (this._live()) this._handle.sendKeepAlive()
  }

  /**
   * secret-stream's unordered encrypted datagrams: `send(buffer)` resolves to whether the UDX
   * message went out (udx-native's `send`), `trySend(buffer)` returns nothing; both do nothing
   * before the connection is open. The peer gets a `message` event (or nothing: no ordering,
   * no retransmits).
   */
  send (buffer) {
    if (!this._isOpen) return
    return Promise.resolve(this._live() && this._handle.sendMessage(toBuffer(buffer)))
  }

  trySend (buffer) {
    if (this._live()) this._handle.sendMessage(toBuffer(buffer))
  }

  /**
   * secret-stream's `alloc(len)`: a buffer to fill and `write()` (protomux builds its messages in
   * one). secret-stream reserves the frame header and MAC around it to skip a copy; here every
   * write is copied into the native side anyway, so a plain buffer of `len` bytes.
   */
  alloc (len) {
    return b4a.allocUnsafe(len)
  }

  setTimeout (ms) {
    this.timeout = ms || 0
    if (this._live()) this._handle.setTimeout(this.timeout)
  }

  _live () {
    return this._isOpen && !this._nativeClosed
  }

  /** Test hook: the native connection's task panics (supervision tests). Not public API. */
  _injectPanic () {
    if (this._handle !== null) this._handle.injectPanic()
  }

  toJSON () {
    return {
      isInitiator: this.isInitiator,
      publicKey: this.publicKey && this.publicKey.toString('hex'),
      remotePublicKey: this.remotePublicKey && this.remotePublicKey.toString('hex'),
      connected: this.connected,
      destroying: this.destroying,
      destroyed: this.destroyed,
      rawStream: this.rawStream && this.rawStream.toJSON()
    }
  }
}

/**
 * What NoiseSecretStream users read from `rawStream` (a UDX stream in hyperdht): an
 * EventEmitter like udx-native's stream, emitting `remote-changed` when a relayed connection
 * moved to its direct path (once the peer acknowledged what went through the relay).
 */
class RawStreamInfo extends EventEmitter {
  constructor (conn, info) {
    super()
    this._conn = conn
    // where the stream's datagrams went last seen: live while open (a relayed connection shows
    // the relay, then the peer once it upgraded, like udx-native after changeRemote), the last
    // value once closed
    this._remote = { host: info.remoteHost || null, port: info.remotePort || 0 }
    this._stats = null
    this._rtt = 0
    this._mtu = 0
    this._localPort = 0
    this.remoteFamily = 4
    this.id = info.streamId
    this._remoteId = info.remoteStreamId
    this.userData = null
  }

  get remoteHost () {
    return this._now().host
  }

  get remotePort () {
    return this._now().port
  }

  _now () {
    const r = this._conn._live() ? this._conn._handle.remote() : null
    if (r) this._remote = r
    return this._remote
  }

  // udx-native's `stream.udx`: hypercore reads it to tell a UDX stream (and then sizes its
  // requests in flight by `rtt`: 16 on a LAN) from anything else (48)
  get udx () {
    return this._conn.dht.udx
  }

  // the last values once closed, like udx-native
  get rtt () {
    if (this._conn._live()) this._rtt = this._conn._handle.rtt()
    return this._rtt
  }

  get mtu () {
    if (this._conn._live()) this._mtu = this._conn._handle.mtu()
    return this._mtu
  }

  get connected () {
    return this._conn._live()
  }

  // udx-native's stream counters; the last values once closed
  _counters () {
    const s = this._conn._live() ? this._conn._handle.rawStats() : null
    if (s) this._stats = s
    return this._stats || EMPTY_STATS
  }

  // the peer's id at open until a live read refreshes it (a relay upgrade changes it)
  get remoteId () {
    const s = this._counters()
    return s === EMPTY_STATS ? this._remoteId : s.remoteId
  }

  // the stream runs on the DHT's socket, or a birthday socket bound to the same host
  get localHost () {
    const a = this._conn.dht._socket.address()
    return a ? a.host : null
  }

  // a connection punched through a RANDOM NAT lives on its own (birthday) socket
  get localPort () {
    const own = this._conn._live() ? this._conn._handle.localPort() : null
    if (own) this._localPort = own
    if (this._localPort) return this._localPort
    const a = this._conn.dht._socket.address()
    return a ? a.port : 0
  }

  get localFamily () {
    return this.localHost === null ? 0 : 4
  }

  get destroyed () {
    return !this._conn._live()
  }

  // udx-native: the stream is being (or was) destroyed
  get destroying () {
    return this._conn.destroying
  }

  // the UDP socket the stream runs on (one object per socket: the engine runs every stream on the
  // DHT's socket); null once closed, like udx-native
  get socket () {
    return this._conn._live() ? this._conn.dht._socket : null
  }

  get bytesRead () {
    return this._conn.rawBytesRead
  }

  get bytesWritten () {
    return this._conn.rawBytesWritten
  }

  // udx-native `destroy(err)`: the stream goes (the peer hears a DESTROY: ECONNRESET) and
  // NoiseSecretStream, which watches it, goes with it
  destroy (err) {
    this._conn.destroy(err)
  }

  // udx-native's shape
  toJSON () {
    return udxStreamJSON(this)
  }
}
defineCounters(RawStreamInfo)

// secret-stream's mapWritable turns strings into Buffers; any other ArrayBufferView (a
// Uint16Array, a DataView) or an ArrayBuffer is sent as its bytes here (secret-stream copies such
// a view element by element into its frame, garbling it; the native side takes bytes only)
function toBuffer (data) {
  if (typeof data === 'string') return Buffer.from(data)
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer)) return new Uint8Array(data)
  return data
}

module.exports = Connection
