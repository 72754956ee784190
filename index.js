'use strict'
// Public API: a drop-in for require('hyperdht') (hyperdht 6.x + the dht-rpc methods it inherits).
// All protocol work happens in Rust (crates/*); this file only normalises options, keeps the
// EventEmitter/streamx surface hyperdht users rely on, and maps engine events to JS.
const { EventEmitter } = require('events')
const os = require('os')
const b4a = require('b4a')
const binding = require('./binding.js')
const Query = require('./lib/query')
const Server = require('./lib/server')
const records = require('./lib/records')
const { queryOpts } = require('./lib/query-options')
const PluginOuterRequest = require('./lib/outer-request')
const RawStream = require('./lib/raw-stream')
const RawStreamSet = require('./lib/raw-stream-set')
const DHTSocket = require('./lib/dht-socket')
const ConnectionPool = require('./lib/connection-pool')
const UDX = require('./lib/udx')
const Session = require('./lib/session')
const Request = require('./lib/request')
const NetworkInterfaces = require('./lib/network-interfaces')
const { Nodes, Table, NetworkHealth, toNode } = require('./lib/routing-table')
const errors = require('./lib/errors')
const metrics = require('./lib/metrics')
const { BOOTSTRAP_NODES, FIREWALL, COMMANDS, DEFAULT_PORT } = require('./lib/constants')
const { pingReply, requestReply } = require('./lib/replies')
const { toKey, buffer32, bufferArg } = require('./lib/keys')
const connect = require('./lib/connect')

// dht-rpc parseNode: 'host:port' and 'suggestedIP@host:port' strings, {host, port}, or a port
// on 127.0.0.1; the engine resolves names and tries suggested IPs
function bootstrapList (list) {
  return list.map((b) => {
    if (typeof b === 'number') return `127.0.0.1:${b}`
    if (typeof b === 'string') {
      if (!b.split(':')[1]) throw new Error('Bootstrap node format is host:port')
      return b
    }
    if (b && typeof b === 'object' && b.host && b.port) return `${b.host}:${b.port}`
    throw new TypeError('Invalid bootstrap node: ' + b)
  })
}

// dht-rpc io.js: `port` is a number (tried as [port, port + 5)) or a range [start, end)
function portRangeOf (port) {
  return port.length ? port : port === 0 ? [0, 0] : [port, port + 5]
}

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

    const native = {
      bootstrap,
      port: port.length ? port[0] : port,
      portRange: port.length ? [port[0], port[1]] : undefined,
      host: opts.host || '0.0.0.0',
      ephemeral: opts.ephemeral === undefined ? undefined : !!opts.ephemeral,
      firewalled: opts.firewalled === undefined ? true : !!opts.firewalled,
      anyPort: opts.anyPort !== false,
      nodes: (opts.nodes || []).map((n) => `${n.host}:${n.port}`),
      adaptive: opts.adaptive !== false && opts.ephemeral === undefined,
      concurrency: this.concurrency,
      maxSize: opts.maxSize || 0,
      maxAge: opts.maxAge || 0,
      natHost: opts._natHost || undefined,
      natPort: opts._natPort || 0,
      quickFirewall: opts.quickFirewall !== false,
      maxPingDelay: u32(this._maxPingDelay),
      randomPunchInterval: u32(this._randomPunchInterval),
      deferRandomPunch: this._deferRandomPunch,
      maxWindow: this._maxWindow,
      downHintsRateLimit: this._sendDownHints ? downHintsLimit(this._downHintsRateLimit) : 0
    }

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
    this._bootstrapping = this._bindError ? Promise.reject(this._bindError) : this._native.ready().then(() => {
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
    switch (ev.type) {
      case 'plugin-request':
        this._onpluginrequest(ev.plugin)
        return
      case 'node-changes':
        this._reportNodeChanges(ev.upto)
        return
      case 'app-request':
        this._onapprequest(ev.request)
        return
      case 'nat-update':
        this._state = null
        // dht-rpc: (null, 0) while the NAT samples disagree
        this.emit('nat-update', ev.host || null, ev.port)
        return
      case 'ready':
        this._state = null
        this._onready()
        return
      case 'ephemeral':
      case 'wakeup':
        this._state = null
        if (this._resumeEvents[ev.type] > 0) this._resumeEvents[ev.type]--
        else this.emit(ev.type)
        return
      default:
        this._state = null
        this.emit(ev.type)
    }
  }

  // `add-node` / `remove-node`, in the order the table changed. Changes wait in the engine until
  // taken: here on their event (up to the change it names), or right after a table read with
  // `upto` 0 (only those the read took with its snapshot), so what was reported always matches
  // what the app reads, as in dht-rpc. A listener that reads the table queues what it took
  // behind the changes being reported.
  _reportNodeChanges (upto) {
    const taken = this._native.takeNodeChanges(upto)
    if (taken.length === 0) return
    for (const c of taken) this._nodeChanges.push(c)
    if (this._reportingNodes) return
    this._reportingNodes = true
    try {
      while (this._nodeChanges.length > 0) {
        const c = this._nodeChanges.shift()
        this.emit(c.added ? 'add-node' : 'remove-node', toNode(c.node))
      }
    } finally {
      this._reportingNodes = false
    }
  }

  _onready () {
    this.bootstrapped = true
    if (this._readyEmitted || this.destroyed) return
    this._readyEmitted = true
    this.emit('ready')
  }

  // hyperdht persistent.js onplugin: the engine already dropped requests without a value, that
  // do not decode or are for a plugin not registered at that version
  _onpluginrequest (p) {
    const plugin = this.plugins.get(p.plugin)
    if (!plugin || plugin.version !== p.version) return
    const req = { plugin: p.plugin, version: p.version, command: p.command, value: p.value || null }
    try {
      plugin.onrequest(req, new PluginOuterRequest(this, p))
    } catch (err) {
      // upstream throws out of the socket's message handler; here the request stays unanswered
      queueMicrotask(() => { throw err })
    }
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
    const call = (sid) => {
      const inflight = !this._engineDestroyed
      let p
      try {
        p = start(sid)
      } catch (err) {
        return Promise.reject(this._rpcError(err, inflight))
      }
      return p.catch((err) => { throw this._rpcError(err, inflight) })
    }
    return session ? session._track(call) : call(undefined)
  }

  // dht-rpc: destroy() fails the requests in flight with REQUEST_DESTROYED (lib/io.js _clear);
  // one asked for once the io is going is never made: Error('Node destroyed') (index.js
  // _requestToPromise)
  _rpcError (err, inflight) {
    const e = errors.fromNative(err.message)
    if (e.code !== 'NODE_DESTROYED') return e
    return inflight ? errors.fromNative('REQUEST_DESTROYED: Request destroyed') : rpcDestroyed()
  }

  /** dht-rpc `delayedPing({host, port}, delayMs)`: the node answers after `delayMs`. */
  delayedPing ({ host, port }, delayMs, opts = {}) {
    if (delayMs > this.maxPingDelay) throw new Error(`Delay exceeds max delay: ${this.maxPingDelay}ms`)
    if (this.destroyed) return Promise.reject(rpcDestroyed())
    const retry = opts && opts.retry === false ? false : undefined
    return this._rpc((opts && opts.session) || null, (sid) => this._native.delayedPing(host, port, delayMs, { session: sid, retry })).then(pingReply)
  }

  /** dht-rpc `rttStats()`: a findNode for the latest node, averaged. */
  async rttStats () {
    const stats = {
      successes: 0,
      errors: 0,
      responses: { avgRtt: 0, errors: 0, avgCloserNodes: 0 },
      closestReplies: { avgRtt: 0, errors: 0, avgCloserNodes: 0 }
    }
    const latest = this.nodes.latest
    if (latest) {
      const q = this.findNode(latest.id)
      let responseCount = 0
      let closestCount = 0
      for await (const msg of q) {
        stats.responses.avgRtt += msg.rtt
        stats.responses.errors += msg.error
        stats.responses.avgCloserNodes += msg.closerNodes?.length || 0
        responseCount++
      }
      stats.responses.avgRtt /= responseCount
      stats.responses.avgCloserNodes /= responseCount
      for (const msg of q.closestReplies) {
        stats.closestReplies.avgRtt += msg.rtt
        stats.closestReplies.errors += msg.error
        stats.closestReplies.avgCloserNodes += msg.closerNodes?.length || 0
        closestCount++
      }
      stats.closestReplies.avgRtt /= closestCount
      stats.closestReplies.avgCloserNodes /= closestCount
      stats.successes = q.successes
      stats.errors = q.errors
    }
    return stats
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
    if (!this._udx) this._udx = new UDX()
    return this._udx
  }

  address () {
    if (this._bindError) return null // nothing was bound (dht-rpc: no socket)
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
  async suspend ({ log = noop } = {}) {
    const suspending = []
    for (const server of this.listening) suspending.push(server.suspend())
    log('Suspending all hyperdht servers')
    await Promise.allSettled(suspending)
    // hyperdht: rawStreams.clear() destroys every connection's UDX stream; a connect still
    // in progress (no stream yet) goes on and fails as its requests do (PEER_NOT_FOUND, ...)
    log('Done, clearing all raw streams')
    for (const c of [...this._conns]) if (c.rawStream !== null) c.destroy()
    await this._clearRawStreams()
    log('Done, suspending dht-rpc')
    await this._suspendRpc(log)
    log('Done, clearing raw streams again')
    log('Done, hyperdht fully suspended')
  }

  // dht-rpc `suspend({log})`
  async _suspendRpc (log) {
    log('Suspending waiting for io bind...')
    await this._bootstrapping.catch(noop) // dht-rpc waits for io.bind()
    log('Done, continuing')
    if (this.suspended || this.destroyed) return
    this.suspended = true
    this._networkInterfaces.unwatch()
    log('Done, suspending io')
    await this._native.suspend()
    log('Done, dht suspended')
    this.emit('suspend')
  }

  /** hyperdht `resume({log})`: the node wakes up and refreshes, then the servers re-announce. */
  async resume ({ log = noop } = {}) {
    if (this._deferRandomPunch && !this.destroyed) this._native.deferRandomPunch()
    if (this.suspended && !this.destroyed) {
      this.suspended = false
      // dht-rpc `_onwakeup()` emits `wakeup` before the io resumes; the engine's own wakeup
      // event for this resume is skipped
      this._state = null
      if (this.adaptive && !this.ephemeral) {
        // and an adaptive node turns ephemeral first (`ephemeral` reads true from here on)
        this._resumeEvents.ephemeral++
        this.emit('ephemeral')
      }
      this._resumeEvents.wakeup++
      this.emit('wakeup')
      log('Resuming io')
      await this._native.resume()
      log('Done, dht resumed')
      this._networkInterfaces.rewatch()
      this._state = null
      this.emit('resume')
    }
    const resuming = []
    for (const server of this.listening) resuming.push(server.resume())
    log('Resuming hyperdht servers')
    await Promise.allSettled(resuming)
    log('Done, hyperdht fully resumed')
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
  async ping ({ host, port }, opts) {
    if (this.destroyed) throw rpcDestroyed()
    const session = (opts && opts.session) || null
    const size = opts && opts.size > 0 ? opts.size : 0
    const retry = opts && opts.retry === false ? false : undefined
    if (!session && !size && retry === undefined) return pingReply(await this._rpc(null, () => this._native.ping(host, port)))
    const value = size ? b4a.alloc(size) : undefined
    return pingReply(await this._rpc(session, (sid) => this._native.request(host, port, { command: 0, internal: true, value, retry, session: sid })))
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
  async request ({ token = null, command, target = null, value = null }, { host, port }, opts = {}) {
    if (this.destroyed) throw rpcDestroyed()
    const r = await this._rpc(opts.session || null, (sid) => this._native.request(host, port, {
      command,
      token: token || undefined,
      target: target || undefined,
      value: value || undefined,
      retry: opts.retry === false ? false : undefined,
      session: sid
    }))
    return requestReply(r)
  }

  // `spec` goes to the engine; `opts` has the dht-rpc options the JS Query keeps (map, commit)
  _startQuery (spec, kind, target, opts) {
    if (this.destroyed) throw rpcDestroyed()
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

  async _destroy (force) {
    if (!force) {
      const closing = []
      for (const server of this.listening) closing.push(server.close())
      await Promise.allSettled(closing)
    }
    for (const plugin of this.plugins.values()) plugin.destroy()
    this._networkInterfaces.destroy()
    for (const q of [...this._queries]) q._ondestroyed()
    this._queries.clear()
    this._state = null
    // like hyperdht destroying its raw streams: open connections close without an error,
    // dials fail as hyperdht's connect does when its FIND_PEER query dies with the node
    // (PEER_NOT_FOUND; later stages give PEER_CONNECTION_FAILED or HOLEPUNCH_ABORTED there)
    for (const c of [...this._conns]) {
      if (!c._isOpen) c._onfail(errors.PEER_NOT_FOUND())
      else c.destroy()
    }
    // hyperdht: rawStreams.clear() (their close events come before the native side goes)
    for (const s of [...this._rawStreams]) s.destroy()
    this._engineDestroyed = true
    await this._native.destroy(force)
    // close events still on their way are implied (each object ignores its own late one)
    for (const c of [...this._conns]) c._onclose(null)
    this._conns.clear()
    for (const s of [...this._rawStreams]) s._onclose(null)
    this._rawStreams.clear()
    this._socket._onclose()
    this.destroyed = true
    this.emit('close')
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

// dht-rpc localIP(): the first non-internal IPv4 address (en0 preferred), else 127.0.0.1
function localIP () {
  let host = null
  const ifaces = os.networkInterfaces()
  for (const name of Object.keys(ifaces)) {
    for (const n of ifaces[name]) {
      if (n.internal || (n.family !== 'IPv4' && n.family !== 4)) continue
      if (name === 'en0') return n.address
      if (host === null) host = n.address
    }
  }
  return host || '127.0.0.1'
}

/**
 * The engine's "Could not bind: <reason> (os error N)" as the error udx-native's bind() throws
 * (`code` and libuv's message), or null for any other error.
 */
function bindError (err) {
  const m = /^Could not bind: .*?(?:\(os error (\d+)\))?$/.exec(err && err.message)
  if (!m) return null
  const [code, message] = BIND_ERRNOS[Number(m[1])] || ['EINVAL', 'invalid argument']
  const e = new Error(message)
  e.code = code
  return e
}

// errno -> [code, libuv message] for what a UDP bind can fail with
const BIND_ERRNOS = {
  13: ['EACCES', 'permission denied'],
  98: ['EADDRINUSE', 'address already in use'],
  99: ['EADDRNOTAVAIL', 'address not available'],
  22: ['EINVAL', 'invalid argument'],
  97: ['EAFNOSUPPORT', 'address family not supported']
}

// dht-rpc's error for a query, request or ping on a destroyed node (lib/errors.js)
const rpcDestroyed = () => errors.rpcDestroyed()

// dht-rpc _bootstrap: a node destroyed before it is ready fails its bootstrap query's next
// request, and that query with a plain Error('Node was destroyed') (lib/query.js _visit), which
// ready() and fullyBootstrapped() reject with
function bootstrapError (err) {
  return err.code === 'NODE_DESTROYED' ? new Error('Node was destroyed') : err
}

function noop () {}

// dht-rpc downHintsRateLimit as its `sent >= limit` test reads it: -1 (or NaN) never stops, any
// other negative number stops at once, 2.5 stops after 3
function downHintsLimit (n) {
  n = Number(n)
  if (n === -1 || Number.isNaN(n)) return -1
  return n <= 0 ? 0 : Math.min(Math.ceil(n), 0xffffffff)
}

// a number for a u32 engine field (NaN and negatives are 0, too large is the maximum)
function u32 (n) {
  return n > 0 ? Math.min(Math.floor(n), 0xffffffff) : 0
}
