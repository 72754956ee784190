'use strict'
// The JS half of hyperdht's lib/connect.js: `dht.connect(remotePublicKey, opts)` makes the stream
// it returns (ours, or the app's own `createSecretStream`), the app's `createHandshake` object,
// and starts the engine's dial (src/dht.rs `connect`), whose events drive a Connection
// (lib/connection.js). Finding the peer, the handshake, holepunching and relays run in the engine.
const Connection = require('./connection')
const RawStream = require('./raw-stream')
const errors = require('./errors')
const { relayKey } = require('./relay')
const { toConnectKey, relayAddressesArg } = require('./keys')
const { punchWrapped } = require('./punch-hook')

/** hyperdht `connect(dht, remotePublicKey, opts)`: returns the encrypted Duplex synchronously. */
function connect (dht, remotePublicKey, opts = {}) {
  const { key, nodes } = toConnectKey(remotePublicKey, 'remotePublicKey')
  const pool = opts.pool || null
  if (pool && pool.has(key)) return pool.get(key)
  const keyPair = opts.keyPair || dht.defaultKeyPair
  if (typeof opts.createSecretStream === 'function') return connectSecretStream(dht, key, nodes, keyPair, opts)
  const conn = new Connection(dht, true, {
    publicKey: keyPair.publicKey,
    remotePublicKey: key,
    keepAlive: dht.connectionKeepAlive,
    holepunch: typeof opts.holepunch === 'function' ? opts.holepunch : null,
    relayKeepAlive: opts.relayKeepAlive || 5000
  })
  if (pool) pool._attachStream(conn, false)
  if (dht.destroyed || dht.suspended) {
    conn.destroy(dht.destroyed ? errors.rpcDestroyed() : errors.SUSPENDED())
    return conn
  }
  withHandshake(conn, keyPair, key, opts)
  dial(dht, conn, key, nodes, keyPair, opts, false)
  return conn
}

// connect({createHandshake}): `createHandshake(keyPair, remotePublicKey)` makes the object that
// writes and reads the Noise messages (the engine then never sees the secret key); like
// hyperdht, an exception it throws leaves connect() (the stream goes quietly first)
function withHandshake (conn, keyPair, key, opts) {
  if (typeof opts.createHandshake !== 'function') return
  try {
    conn._handshake = opts.createHandshake(keyPair, key)
  } catch (err) {
    conn.destroy()
    throw err
  }
}

// hyperdht connect({createSecretStream}): the app's stream is made at once
// (`createSecretStream(true, null, {publicKey, remotePublicKey, autoStart: false, keepAlive})`)
// and started over the connection's bare UDX stream with the handshake result once the engine's
// Noise handshake is done. A Connection that is never handed out runs the dial (its questions
// and blind-relay pairings); it is destroyed with the app's stream.
function connectSecretStream (dht, key, nodes, keyPair, opts) {
  const socket = opts.createSecretStream(true, null, {
    publicKey: keyPair.publicKey,
    remotePublicKey: key,
    autoStart: false,
    keepAlive: dht.connectionKeepAlive
  })
  if (dht.destroyed || dht.suspended) {
    socket.destroy(dht.destroyed ? errors.rpcDestroyed() : errors.SUSPENDED())
    return socket
  }
  if (opts.pool) opts.pool._attachStream(socket, false)
  const dialer = new Connection(dht, true, {
    publicKey: keyPair.publicKey,
    remotePublicKey: key,
    holepunch: typeof opts.holepunch === 'function' ? opts.holepunch : null,
    relayKeepAlive: opts.relayKeepAlive || 5000
  })
  let adopted = false
  dialer.on('error', (err) => socket.destroy(err))
  dialer.on('close', () => { if (!adopted) socket.destroy() })
  socket.on('close', () => dialer.destroy())
  withHandshake(dialer, keyPair, key, opts)
  dialer._onrawopen = () => {
    let hs = null
    const native = dht._native.adoptConnection(dialer._handle, (h) => { hs = h })
    if (!native || hs === null || socket.destroying) {
      if (native) native.destroy()
      return dialer.destroy()
    }
    adopted = true
    const rawStream = new RawStream(dht, native, { framed: true })
    dht._rawStreams.add(rawStream)
    rawStream.connect(dht._socket, hs.remoteId, hs.remotePort, hs.remoteHost)
    // an app's handshake object: its own final() (it may keep the keys in there its own way)
    const handshake = dialer._handshakeResult || { isInitiator: true, publicKey: hs.publicKey, remotePublicKey: hs.remotePublicKey, hash: hs.hash, tx: hs.tx, rx: hs.rx }
    socket.start(rawStream, { handshake })
  }
  dial(dht, dialer, key, nodes, keyPair, opts, true)
  return socket
}

// starts the native dial of `conn` (raw: it opens as a bare stream for `_onrawopen`)
function dial (dht, conn, key, nodes, keyPair, opts, raw) {
  const native = {
    localConnection: opts.localConnection !== false,
    fastOpen: opts.fastOpen !== false,
    reusableSocket: !!opts.reusableSocket,
    // hyperdht: opts.relayAddresses || the nodes of a hyperdht-address key
    relayAddresses: relayAddressesArg(opts.relayAddresses || nodes || []),
    // asked also while `Holepuncher.prototype._punch` is wrapped (lib/punch-hook.js)
    holepunchVeto: typeof opts.holepunch === 'function' || punchWrapped(),
    // hyperdht's LAN shortcut pings through dht.ping: honour an app's replacement of it
    lanPing: dht._pingReplaced(),
    // `relayThrough` (a key, an array of keys, or a function returning either)
    relayThrough: relayKey(opts.relayThrough) || undefined,
    relays: true,
    raw,
    externalHandshake: conn._handshake !== null
  }
  // the connection's native half exists from here on; its events (open first, or close with
  // the dial's error) go straight to it
  let handle
  try {
    handle = dht._native.connect(key, { publicKey: keyPair.publicKey, secretKey: keyPair.secretKey }, native, (ev) => conn._onevent(ev))
  } catch (err) {
    // unusable arguments (e.g. a key pair without its secret key) fail the stream, not the call
    conn._onfail(errors.fromNative(err.message))
    return
  }
  conn._attach(handle)
  dht._conns.add(conn)
  // like hyperdht, the connect's network work begins after the current tick: a stream
  // destroyed synchronously sends nothing
  process.nextTick(() => handle.go())
}

module.exports = connect
