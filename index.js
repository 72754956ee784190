'use strict'
// Public API: a drop-in for require('hyperdht') (hyperdht 6.x + the dht-rpc methods it inherits).
// All protocol work happens in Rust (crates/*); this file only normalises options, keeps the
// EventEmitter/streamx surface hyperdht users rely on, and maps engine events to JS.
const { EventEmitter } = require('events')
const binding = require('./binding.js')
const Query = require('./lib/query')
const Server = require('./lib/server')
const records = require('./lib/records')
const { queryOpts } = require('./lib/query-options')
const RawStream = require('./lib/raw-stream')
const RawStreamSet = require('./lib/raw-stream-set')
const DHTSocket = require('./lib/dht-socket')
const ConnectionPool = require('./lib/connection-pool')
const UDX = require('./lib/udx')
const Session = require('./lib/session')
const Request = require('./lib/request')
const NetworkInterfaces = require('./lib/network-interfaces')
const { Nodes, Table, NetworkHealth } = require('./lib/routing-table')
const errors = require('./lib/errors')
const metrics = require('./lib/metrics')
const { BOOTSTRAP_NODES, FIREWALL, COMMANDS, DEFAULT_PORT } = require('./lib/constants')
const { toKey, buffer32, bufferArg } = require('./lib/keys')
const connect = require('./lib/connect')
const { bootstrapList, portRangeOf, nativeOptions, u32 } = require('./lib/node-options')
const { bindError, bootstrapError, localIP } = require('./lib/bind')
const rpc = require('./lib/rpc')
const lifecycle = require('./lib/lifecycle')
const nodeEvents = require('./lib/node-events')

class HyperDHT extends EventEmitter {
  constructor (opts = {}) {
    super()
    // like hyperdht: 0 means the default port. A port given as a string (an environment
    // variable) is taken as its number: dht-rpc would read the string as a port range and end
    // on a random port, and the native side would throw
    const port = (typeof opts.port === 'string' ? Number(opts.port) || 0 : opts.port) || DEFAULT_PORT
    const bootstrap = bootstrapList(opts.bootstrap || BOOTSTRAP_NODES)

    // dht-rpc: the bootstrap list as {host, port}; adaptive = may turn persistent by itself
    this.bootstrapNodes = bootstrap.map((b) => {
      const i = b.lastIndexOf(':')
      return { host: b.slice(0, i), port: Number(b.slice(i + 1)) }
    })
    this.adaptive = typeof opts.ephemeral !== 'boolean' && opts.adaptive !== false
    this.defaultKeyPair = opts.keyPair || HyperDHT.keyPair(opts.seed)
    this.listening = new Set()
    this.destroyed = false
    this.bootstrapped = false
    this.suspended = false
    this.concurrency = opts.concurrency || 10
    this.connectionKeepAlive = opts.connectionKeepAlive === false ? 0 : opts.connectionKeepAlive || HyperDHT.DEFAULTS.connectionKeepAlive
    // what destroy() and suspend() close: running queries, connections (hyperdht's rawStreams),
    // createRawStream() streams; each object gets its own events from its native half
    this._queries = new Set()
    this._conns = new Set()
    // resume() emits its `wakeup` (and `ephemeral`) itself: as many of the engine's events of
    // each kind are dropped
    this._resumeEvents = { wakeup: 0, ephemeral: 0 }
    this._rawStreams = new Set()
    this._state = null
    this._stats = null
    this._udx = null
    this._destroying = null
    // set when the engine is told to go: requests started before then and failed by it are
    // dht-rpc's in-flight requests (REQUEST_DESTROYED), later ones never went out
    this._engineDestroyed = false
    this._portRange = portRangeOf(port)
    // hyperdht: dht.register(name, plugin); PLUGIN requests for them arrive as `plugin-request`
    this.plugins = new Map()
    this.once('persistent', () => {
      for (const plugin of this.plugins.values()) plugin.onpersistent()
    })
    // dht-rpc opts.maxPingDelay: the longest DELAYED_PING we answer or ask for
    this._maxPingDelay = opts.maxPingDelay || HyperDHT.DEFAULTS.maxPingDelay
    // hyperdht deferRandomPunch: the random-punch interval counts from construction and resume()
    this._deferRandomPunch = !!opts.deferRandomPunch
    this._randomPunchInterval = opts.randomPunchInterval || HyperDHT.DEFAULTS.randomPunchInterval
    // dht-rpc maxWindow, sendDownHints and downHintsRateLimit
    this._maxWindow = u32(opts.maxWindow) || HyperDHT.DEFAULTS.maxWindow
    this._sendDownHints = opts.sendDownHints !== false
    this._downHintsRateLimit = opts.downHintsRateLimit !== undefined ? opts.downHintsRateLimit : 10 * 5
    // hyperdht validateLocalAddresses: host -> Promise<bound locally>
    this._validatedLocalAddresses = new Map()
    this._health = null
    // `dht.onrequest = fn` (the prototype accessor) before any subclass check
    this._userOnrequest = null
    this._closedAddress = null // address() once destroyed (the socket's last address)

    const native = nativeOptions(this, opts, port, bootstrap)

    // dht-rpc binds in the background: a port (or host) it cannot have rejects ready() and
    // fullyBootstrapped() with udx-native's error (EADDRINUSE, ...), the constructor still returns
    this._bindError = null
    try {
      this._native = new binding.NativeDht(native, (ev) => this._onevent(ev))
    } catch (err) {
      this._bindError = bindError(err)
      if (!this._bindError) throw err
      // an inert node in its place (loopback, nobody to bootstrap from, destroyed at once):
      // every method then behaves as on a destroyed node, and none of its events reach us
      this._native = new binding.NativeDht({ ...native, bootstrap: [], nodes: [], host: '127.0.0.1', port: 0, portRange: undefined, anyPort: true }, noop)
      this._native.destroy(true).catch(noop)
      this._engineDestroyed = true
    }
    // the one UDP socket every UDX stream of this node lives on (rawStream.socket, io.serverSocket)
    this._socket = new DHTSocket(this)
    this._readyEmitted = false
    // add-node / remove-node changes taken from the engine, being reported (_reportNodeChanges)
    this._nodeChanges = []
    this._reportingNodes = false
    this._bootstrapping = this._bindError
      ? Promise.reject(this._bindError)
      : this._native.ready().then(() => {
        // dht-rpc: `bootstrapped = true; emit('ready')`, then the bootstrap promise resolves;
        // the engine's 'ready' event and this promise travel separately, whichever comes first
        // emits it
        this._onready()
      }, (err) => {
        throw bootstrapError(errors.fromNative(err.message))
      })
    this._bootstrapping.catch(noop)

    // dht-rpc io.networkInterfaces: `network-change` (then `network-update`) when the list changes;
    // hyperdht refreshes its servers then
    this._networkInterfaces = new NetworkInterfaces(this.udx).watch()
    this._networkInterfaces.on('change', (interfaces) => this._onnetworkchange(interfaces))
    this.on('network-change', () => {
      for (const server of this.listening) server.refresh()
    })
    // hyperdht: each server hears the node is online again (ours: an app's override does; the
    // engine's announcer wakes by itself)
    this.on('network-update', () => {
      if (!this.online) return
      for (const server of this.listening) server.notifyOnline()
    })
    // `add-node` / `remove-node` are built by the engine only while someone listens
    this.on('newListener', (name) => {
      if ((name === 'add-node' || name === 'remove-node') && !this.destroyed) this._native.watchNodes(true)
    })
    this.on('removeListener', (name) => {
      if ((name === 'add-node' || name === 'remove-node') && !this.destroyed &&
          this.listenerCount('add-node') + this.listenerCount('remove-node') === 0) this._native.watchNodes(false)
    })
    // requests the engine leaves unanswered go to an app's own onrequest (a subclass method now,
    // a class field once the subclass constructor has run)
    this._syncRequestHook()
    queueMicrotask(() => this._syncRequestHook())
  }

  static bootstrapper (port, host, opts = {}) {
    if (!port) throw new Error('Port is required')
    if (!host) throw new Error('Host is required')
    if (host === '0.0.0.0' || host === '::') throw new Error('Invalid host')
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) throw new Error('Host must be a IPv4 address')
    return new this({
      port,
      ephemeral: false,
      firewalled: false,
      anyPort: false,
      bootstrap: [],
      ...opts,
      _natHost: host,
      // a port from the environment comes as a string: the number it names, as for `port`
      _natPort: (typeof port === 'string' ? Number(port) : port) || 0
    })
  }

  static keyPair (seed) {
    if (seed !== undefined && seed !== null) seed = buffer32(seed, 'seed')
    const kp = binding.keyPair(seed || undefined)
    return { publicKey: kp.publicKey, secretKey: kp.secretKey }
  }

  static hash (data) {
    return binding.hash(bufferArg(data, 'data'))
  }

  // the node's own events (each server, connection, query and raw stream gets its own)
  _onevent (ev) {
    nodeEvents.onevent(this, ev)
  }

  // `add-node` / `remove-node` as the routing table changed (lib/node-events.js)
  _reportNodeChanges (upto) {
    nodeEvents.reportNodeChanges(this, upto)
  }

  _onready () {
    this.bootstrapped = true
    if (this._readyEmitted || this.destroyed) return
    this._readyEmitted = true
    this.emit('ready')
  }

  // hyperdht persistent.js onplugin: PLUGIN requests for a registered plugin
  _onpluginrequest (p) {
    nodeEvents.onpluginrequest(this, p)
  }

  // dht-rpc _onrequest for a non-internal request nobody else answered: `onrequest(req) === false`
  // means UNKNOWN_COMMAND (with closer nodes when it has a target)
  _onapprequest (r) {
    if (this.destroyed) return
    const req = new Request(this, r)
    let handled
    try {
      handled = this.onrequest(req)
    } catch (err) {
      // upstream throws out of the socket's message handler; here the request stays unanswered
      queueMicrotask(() => { throw err })
      return
    }
    if (handled === false) req.sendReply(HyperDHT.ERROR_UNKNOWN_COMMAND, null, false, req.target !== null)
  }

  _syncRequestHook () {
    if (!this.destroyed) this._native.setRequestHook(this.onrequest !== defaultOnrequest)
  }

  _onnetworkchange (interfaces) {
    this._state = null
    // the addresses handshakes share with peers behind our NAT (hyperdht reads them per handshake)
    if (!this.destroyed) this._native.refreshLocalAddresses()
    this.emit('network-change', interfaces)
    this.emit('network-update')
  }

  /** dht-rpc `maxPingDelay` (ms): the longest DELAYED_PING this node answers or asks for. */
  get maxPingDelay () {
    return this._maxPingDelay
  }

  set maxPingDelay (ms) {
    this._maxPingDelay = ms
    if (!this.destroyed) this._native.setMaxPingDelay(u32(ms))
  }

  /** dht-rpc `nodes`: the routing table's nodes, a time-ordered set (latest = most recently heard). */
  get nodes () {
    return new Nodes(this)
  }

  /** dht-rpc `table`: the Kademlia routing table (read-only here). */
  get table () {
    return new Table(this)
  }

  /** dht-rpc `health` (NetworkHealth): the window behind `online` / `degraded`. */
  get health () {
    if (this._health === null) this._health = new NetworkHealth(this)
    return this._health
  }

  /** dht-rpc `session()`: requests made through it can be destroyed together. */
  session () {
    return new Session(this)
  }

  // One engine request, in `session` if given; engine errors become DHTErrors, a session's
  // destroy(err) rejects with err as is.
  _rpc (session, start) {
    return rpc.rpc(this, session, start)
  }

  // dht-rpc's error for a request the node's destroy() failed (lib/rpc.js)
  _rpcError (err, inflight) {
    return rpc.rpcError(err, inflight)
  }

  /** dht-rpc `delayedPing({host, port}, delayMs)`: the node answers after `delayMs`. */
  delayedPing (to, delayMs, opts = {}) {
    return rpc.delayedPing(this, to, delayMs, opts)
  }

  /** dht-rpc `rttStats()`: a findNode for the latest node, averaged. */
  rttStats () {
    return rpc.rttStats(this)
  }

  /** hyperdht `validateLocalAddresses(addresses)`: those whose host a socket can bind and reach itself on. */
  async validateLocalAddresses (addresses) {
    const list = []
    const waiting = []
    for (const addr of addresses) {
      const { host } = addr
      if (this._validatedLocalAddresses.has(host)) {
        if (await this._validatedLocalAddresses.get(host)) list.push(addr)
        continue
      }
      this._validatedLocalAddresses.set(host, NetworkInterfaces.probeLocal(host))
      waiting.push(addr)
    }
    for (const addr of waiting) {
      if (await this._validatedLocalAddresses.get(addr.host)) list.push(addr)
    }
    return list
  }

  _info () {
    if (this._state === null || this.destroyed) this._state = this._native.info()
    return this._state
  }

  get id () {
    return this._info().id || null
  }

  get ephemeral () {
    return this._resumeEvents.ephemeral > 0 || this._info().ephemeral
  }

  get firewalled () {
    return this._info().firewalled
  }

  get host () {
    return this._info().host || null
  }

  get port () {
    return this._info().port || 0
  }

  get randomized () {
    const s = this._info()
    return !!s.host && s.port === 0
  }

  /**
   * hyperdht 6.34's `stats` (punches, relaying, socketPool, and dht-rpc's queries, requests,
   * commands): one live object whose numbers the engine counts (lib/metrics.js); `io` adds the
   * engine's frame and socket counters. See README.md "Metrics" for what is counted where.
   */
  get stats () {
    if (this._stats === null) this._stats = metrics.liveStats(() => this._native.stats())
    return this._stats
  }

  // the engine's datagram counters for `udx` (the last ones read once the node is destroyed)
  _ioCounters () {
    if (!this._engineDestroyed) {
      try {
        this._lastIo = this._native.stats().io
      } catch {}
    }
    return this._lastIo || null
  }

  /** The engine's counters in the Prometheus text format 0.0.4 (lib/metrics.js, README "Metrics"). */
  metrics (opts = {}) {
    return metrics.render(this._native.stats(), opts.labels)
  }

  // dht-rpc network health (NetworkHealth): false after responses stop; `network-update` on change
  get online () {
    return this.destroyed ? true : this._info().online !== false
  }

  get degraded () {
    return this.destroyed ? false : !!this._info().degraded
  }

  /** udx-native's UDX object as hyperdht exposes it (raw datagram sockets, interface list). */
  get udx () {
    if (!this._udx) this._udx = new UDX(() => this._ioCounters())
    return this._udx
  }

  address () {
    if (this._bindError) return null // nothing was bound (dht-rpc: no socket)
    if (this._closedAddress !== null) return { ...this._closedAddress }
    const s = this._native.info()
    return s.address || null
  }

  // dht-rpc: {host, port} of the server socket as bound (no family)
  localAddress () {
    const a = this._bindError ? null : this._native.info().localAddress
    return a ? { host: localIP(), port: a.port } : null
  }

  // dht-rpc: {host, port} when reachable on the server port (no family)
  remoteAddress () {
    const a = this._bindError ? null : this._native.info().remoteAddress
    return a ? { host: a.host, port: a.port } : null
  }

  /** dht-rpc `refresh()`: a background FIND_NODE to keep the routing table fresh. */
  refresh () {
    if (!this.destroyed) this._native.refresh()
  }

  /** hyperdht `suspend({log})`: servers, then the node (pending requests fail with IO_SUSPENDED). */
  suspend (opts = {}) {
    return lifecycle.suspend(this, opts)
  }

  // dht-rpc `suspend({log})`
  _suspendRpc (log) {
    return lifecycle.suspendRpc(this, log)
  }

  /** hyperdht `resume({log})`: the node wakes up and refreshes, then the servers re-announce. */
  resume (opts = {}) {
    return lifecycle.resume(this, opts)
  }

  /** hyperdht `register(name, plugin)`: `plugin.onrequest(req, outerReq)` gets PLUGIN requests for it. */
  register (name, plugin) {
    this.plugins.set(name, plugin)
    plugin.onregister(this)
    if (!this.destroyed) this._native.registerPlugin(name, plugin.version)
  }

  // dht-rpc `io` internals some callers read (hyperswarm: io.portRange; tests: io._tid)
  get io () {
    const dht = this
    return {
      portRange: this._portRange,
      get _tid () { return dht.destroyed ? 0 : dht._native.requestCount() % 65536 },
      // the bound server socket (address() is {host, family, port}, as udx-native)
      serverSocket: this._socket,
      // the interface watcher behind `network-change`
      networkInterfaces: this._networkInterfaces
    }
  }

  addNode ({ host, port }) {
    this._native.addNode(host, port)
  }

  /** Sizes of the engine's per-connection/handshake maps (tests assert churn leaves them empty). Not public API. */
  _internalCounts () {
    return this._native.internalCounts()
  }

  /** Test hook: makes the engine's `'rpc'` or `'udx'` driver task panic (supervision tests). Not public API. */
  _injectDriverPanic (which) {
    this._native.injectDriverPanic(which)
  }

  toArray (opts) {
    const limit = opts && opts.limit
    if (limit === 0) return []
    const list = this._native.toArray(limit || 0)
    this._reportNodeChanges(0)
    return list
  }

  ready () {
    return this._bootstrapping
  }

  // dht-rpc bind(): resolves once the sockets are bound (ours bind in the constructor)
  bind () {
    return this._bindError ? Promise.reject(this._bindError) : Promise.resolve()
  }

  // dht-rpc's settings view
  get config () {
    return {
      concurrency: this.concurrency,
      maxWindow: this._maxWindow,
      randomPunchInterval: this._randomPunchInterval,
      connectionKeepAlive: this.connectionKeepAlive,
      sendDownHints: this._sendDownHints,
      downHintsRateLimit: this._downHintsRateLimit
    }
  }

  fullyBootstrapped () {
    return this._bootstrapping
  }

  // dht-rpc ping(to, {session, size, retry}): `size` zero bytes ride along as the value
  ping (to, opts) {
    return rpc.ping(this, to, opts)
  }

  /** hyperdht `connect(remotePublicKey, {keyPair})`: returns the encrypted Duplex synchronously (lib/connect.js). */
  connect (remotePublicKey, opts = {}) {
    return connect(this, remotePublicKey, opts)
  }

  // the app replaced `dht.ping`: the LAN shortcut of a connect pings through it (hyperdht does)
  _pingReplaced () {
    return this.ping !== HyperDHT.prototype.ping
  }

  /** dht-rpc `dht.socket`: here always the server socket, which carries every UDX stream. */
  get socket () {
    return this._socket
  }

  /** hyperdht `dht.rawStreams`: the node's UDX streams (lib/raw-stream-set.js). */
  get rawStreams () {
    if (this._rawStreamSet === undefined) this._rawStreamSet = new RawStreamSet(this)
    return this._rawStreamSet
  }

  /** hyperdht `createRawStream(opts)`: a udx-native-shaped stream on this node's socket. */
  createRawStream (opts = {}) {
    if (this.destroyed) throw errors.NODE_DESTROYED()
    const stream = new RawStream(this, this._native.createRawStream(), opts)
    this._rawStreams.add(stream)
    return stream
  }

  /** hyperdht `connectRawStream(encryptedStream, rawStream, remoteId)`. */
  static connectRawStream (encryptedStream, rawStream, remoteId) {
    const stream = encryptedStream.rawStream
    if (!stream || !stream.connected) throw errors.STREAM_NOT_CONNECTED()
    rawStream.connect(stream.socket, remoteId, stream.remotePort, stream.remoteHost)
  }

  // the createRawStream() part of hyperdht's rawStreams.clear(): destroy them, wait for their close
  _clearRawStreams () {
    return RawStreamSet.destroyAll(this._rawStreams)
  }

  /** hyperdht `pool()`: one connection per remote key for `connect(key, {pool})` and `createServer({pool})`. */
  pool () {
    return new ConnectionPool(this)
  }

  /** hyperdht `createServer([opts], [onconnection])`. */
  createServer (opts, onconnection) {
    if (typeof opts === 'function') return this.createServer({}, opts)
    if (opts && opts.onconnection) onconnection = opts.onconnection
    const s = new Server(this, opts || {})
    if (onconnection) s.on('connection', onconnection)
    return s
  }

  /** dht-rpc `request({token, target, command, value}, {host, port}, {retry, session})`. */
  request (req, to, opts = {}) {
    return rpc.request(this, req, to, opts)
  }

  // `spec` goes to the engine; `opts` has the dht-rpc options the JS Query keeps (map, commit)
  _startQuery (spec, kind, target, opts) {
    if (this.destroyed) throw errors.rpcDestroyed()
    const q = new Query(this, target, kind, spec, opts)
    q._start((onevent) => this._native.query({ kind, target, concurrency: this.concurrency, ...spec }, onevent))
    return q
  }

  findNode (target, opts = {}) {
    return this._startQuery({ ...queryOpts(opts) }, 'findNode', buffer32(target, 'target'), opts)
  }

  query ({ target, command, value }, opts = {}) {
    const t = buffer32(target, 'target')
    return this._startQuery({ command, value: value || undefined, ...queryOpts(opts) }, 'query', t, opts)
  }

  findPeer (publicKey, opts = {}) {
    const pk = buffer32(publicKey, 'publicKey')
    const target = opts.hash === false ? pk : HyperDHT.hash(pk)
    return this._startQuery(queryOpts(opts), 'findPeer', target, opts)
  }

  lookup (target, opts = {}) {
    return this._startQuery(queryOpts(opts), 'lookup', buffer32(target, 'topic'), opts)
  }

  announce (target, keyPair, relayAddresses, opts = {}) {
    return records.announce(this, target, keyPair, relayAddresses, opts)
  }

  lookupAndUnannounce (target, keyPair, opts = {}) {
    return records.lookupAndUnannounce(this, target, keyPair, opts)
  }

  unannounce (target, keyPair, opts = {}) {
    return this.lookupAndUnannounce(target, keyPair, opts).finished()
  }

  immutablePut (value, opts = {}) {
    return records.immutablePut(this, value, opts)
  }

  immutableGet (target, opts = {}) {
    return records.immutableGet(this, target, opts)
  }

  mutablePut (keyPair, value, opts = {}) {
    return records.mutablePut(this, keyPair, value, opts)
  }

  mutableGet (publicKey, opts = {}) {
    return records.mutableGet(this, publicKey, opts)
  }

  async destroy ({ force = false } = {}) {
    if (this._destroying) return this._destroying
    this._destroying = this._destroy(force)
    return this._destroying
  }

  _destroy (force) {
    return lifecycle.destroy(this, force)
  }
}

HyperDHT.BOOTSTRAP = BOOTSTRAP_NODES
HyperDHT.FIREWALL = FIREWALL
HyperDHT.COMMANDS = COMMANDS
HyperDHT.DEFAULTS = Object.freeze({ concurrency: 10, maxWindow: 80, maxPingDelay: 10000, connectionKeepAlive: 5000, randomPunchInterval: 20000 })
// dht-rpc's reply error codes
HyperDHT.OK = 0
HyperDHT.ERROR_UNKNOWN_COMMAND = 1
HyperDHT.ERROR_INVALID_TOKEN = 2

// dht-rpc onrequest(req): app requests nobody handled. hyperdht's override answers its own
// commands (the engine does that here) and returns false for the rest; replace it (subclass
// method or `dht.onrequest = fn`) to take custom commands: reply with req.reply / req.error,
// return false for UNKNOWN_COMMAND.
function defaultOnrequest (req) {
  return false
}

Object.defineProperty(HyperDHT.prototype, 'onrequest', {
  configurable: true,
  get () {
    return this._userOnrequest || defaultOnrequest
  },
  set (fn) {
    // `Sub.prototype.onrequest = fn` patches a prototype, not a node
    if (!(this._native instanceof binding.NativeDht)) {
      Object.defineProperty(this, 'onrequest', { value: fn, writable: true, configurable: true })
      return
    }
    this._userOnrequest = fn
    this._syncRequestHook()
  }
})
HyperDHT.toKey = toKey

module.exports = HyperDHT

function noop () {}
