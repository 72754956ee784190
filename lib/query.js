'use strict'
// A query stream shaped like dht-rpc's lib/query.js: a streamx Readable of replies, async-iterable,
// with `finished()` and `closestNodes`/`closestReplies`. The whole iterative query runs in Rust
// (src/query.rs): this object owns its NativeQuery, whose `reply` events, then one `end`, arrive
// at `_onevent` and are pushed here.
const { Readable, getStreamError } = require('streamx')
const c = require('compact-encoding')
const errors = require('./errors')
const { COMMANDS } = require('./constants')
const { autoCommit } = require('./query-options')
const { mapReply } = require('./replies')

// query kinds whose commit phase runs in Rust
const COMMITS = new Set(['announce', 'lookupAndUnannounce', 'immutablePut', 'mutablePut'])
// dht-rpc query kinds: every reply the query takes (error 0, before its commit) reaches JS
// (src/ops.rs Job::Raw), so closestReplies is kept here as they arrive, as dht-rpc does
const RAW = new Set(['query', 'findNode'])
// hyperdht record queries whose every reply reaches JS too (src/ops.rs Replies): closestReplies
// is kept as they arrive, from the raw replies (the stream yields what hyperdht's map keeps)
const ALL_REPLIES = new Set(['query', 'findNode', 'lookup', 'announce', 'lookupAndUnannounce', 'findPeer'])
// kademlia-routing-table's k (dht.table.k): how many closest replies a query keeps
const K = 20
// the engine's per-request retries in a query (crates/rpc node/queries.rs; dht-rpc's default 5)
const RETRIES = 5
const FIND_NODE = 2 // dht-rpc internal FIND_NODE

// hyperdht runs its record queries as dht.query({target, command, value}) (hyperdht index.js):
// the command each kind asks with
const RECORD_COMMANDS = {
  lookup: COMMANDS.LOOKUP,
  announce: COMMANDS.LOOKUP,
  lookupAndUnannounce: COMMANDS.LOOKUP,
  findPeer: COMMANDS.FIND_PEER,
  immutableGet: COMMANDS.IMMUTABLE_GET,
  immutablePut: COMMANDS.IMMUTABLE_GET,
  mutableGet: COMMANDS.MUTABLE_GET,
  mutablePut: COMMANDS.MUTABLE_GET
}

class Query extends Readable {
  /**
   * `spec` is what the engine is asked (index.js `_startQuery`), `opts` the dht-rpc options
   * handled here: map (query/findNode: what the stream yields per reply; falsy = skipped) and
   * commit (run per closest reply at the end; true = dht-rpc autoCommit).
   */
  constructor (dht, target, kind, spec = {}, opts = {}) {
    super()
    const raw = RAW.has(kind)
    // dht-rpc lib/query.js constructor fields (`inflight` is the engine's, not kept here)
    this.force = !!spec.force
    this.dht = dht
    this.k = K
    this.target = target
    this.internal = kind === 'findNode'
    this.command = commandOf(kind, spec)
    this.value = valueOf(kind, spec)
    this.errors = 0
    this.successes = 0
    this.concurrency = spec.concurrency || dht.concurrency
    if (raw) this.map = opts.map || defaultMap
    this.retries = RETRIES
    this.closestReplies = []
    this.kind = kind
    this.result = null
    this._raw = raw
    this._allReplies = ALL_REPLIES.has(kind)
    this._commit = opts.commit === true ? autoCommit : typeof opts.commit === 'function' ? opts.commit : null
    this._onmap = null
    this._map = raw && typeof opts.map === 'function' ? opts.map : null
    this._native = null // the NativeQuery, while it runs
    this._starter = null // what starts it, until the first read (_open)
  }

  /**
   * index.js `_startQuery`: `start(onEvent)` starts the engine's query and returns its
   * NativeQuery. As a dht-rpc Query, which starts asking in `_open` (the first read, resume,
   * `for await` or `finished()`), a query nobody reads never runs: an unread `announce()` stores
   * nothing, one destroyed before it is read sends nothing.
   */
  _start (start) {
    this._starter = start
    this.dht._queries.add(this)
  }

  _open (cb) {
    const start = this._starter
    this._starter = null
    if (start === null || this.dht.destroyed) {
      // the node went away before anyone read this query
      cb(null)
      this._endOnDestroyedNode()
      return
    }
    try {
      this._native = start((ev) => this._onevent(ev))
    } catch (err) {
      return cb(errors.fromNative(err.message))
    }
    cb(null)
  }

  _onevent (ev) {
    if (this._native === null) return // cancelled: events queued before that are dropped
    if (ev.type === 'reply') this._onreply(this._received(ev.reply))
    else this._onend(ev.closest, ev.error ? errors.fromNative(ev.error) : null, ev.result)
  }

  // a reply as this query's kind shapes it; a dht-rpc query keeps it among its closest replies
  // (dht-rpc lib/query.js _onvisit: error 0, from a node with an id, closer than the k-th)
  _received (r) {
    const m = mapReply(this.kind, r)
    if (!this._allReplies) return m
    const reply = this._raw ? m : mapReply('query', r)
    if (reply.error === 0 && reply.from.id !== null && this._isCloser(reply.from.id)) this._pushClosest(reply)
    return m
  }

  // stops the native query (no events after this)
  _cancel () {
    this.dht._queries.delete(this)
    this._starter = null
    if (this._native === null) return
    this._native.cancel()
    this._native = null
  }

  get closestNodes () {
    return this.closestReplies.map((r) => r.from)
  }

  // the engine's final list, as the reply objects already kept (the same objects the stream
  // yielded, as in dht-rpc); new raw replies for the others (all of them in the queries whose
  // replies do not all reach JS, which keep none before the end)
  _sameReplies (closest) {
    const seen = new Map()
    for (const m of this.closestReplies) seen.set(m.from.host + ':' + m.from.port, m)
    return closest.map((r) => seen.get(r.fromHost + ':' + r.fromPort) || mapReply('query', r))
  }

  // dht-rpc lib/query.js _isCloser / _pushClosest / _compare: the k closest by XOR distance of
  // the sender's id to the target, sorted; a duplicate id keeps the earlier reply
  _isCloser (id) {
    return this.closestReplies.length < this.k ||
      this._compare(id, this.closestReplies[this.closestReplies.length - 1].from.id) < 0
  }

  _pushClosest (m) {
    const list = this.closestReplies
    list.push(m)
    for (let i = list.length - 2; i >= 0; i--) {
      const prev = list[i]
      const cmp = this._compare(prev.from.id, m.from.id)
      if (cmp < 0) break
      if (cmp === 0) {
        list.splice(i + 1, 1)
        break
      }
      list[i + 1] = prev
      list[i] = m
    }
    if (list.length > this.k) list.pop()
  }

  _compare (a, b) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue
      const t = this.target[i]
      return (t ^ a[i]) - (t ^ b[i])
    }
    return 0
  }

  _onreply (data) {
    this.successes++
    if (data === null || this.destroying) return
    if (this._onmap !== null) this._onmap(data)
    if (this._map !== null) {
      try {
        data = this._map(data)
      } catch (err) {
        this.destroy(err)
        return
      }
      if (!data) return
    }
    this.push(data)
  }

  // `closest`: the engine's closest replies (packed), null when the query failed
  _onend (closest, error, result) {
    this._native = null
    this.dht._queries.delete(this)
    if (closest) this.closestReplies = this._sameReplies(closest)
    if (result && typeof result.successes === 'number') this.successes = result.successes
    this.result = result || null
    if (error) this.destroy(error)
    else if (this._commit !== null) this._runCommit()
    else this.push(null)
  }

  // The node is being destroyed: like dht-rpc, the query just ends with what it has, and a
  // query with a commit phase then has no one to commit to.
  // A query not read yet stays quiet until it is (dht-rpc's never asked anyone); read then, it
  // ends the same way.
  _ondestroyed () {
    const unread = this._starter !== null
    this._cancel()
    if (!unread) this._endOnDestroyedNode()
  }

  _endOnDestroyedNode () {
    if (this.destroying) return
    if (this._commit !== null || COMMITS.has(this.kind)) this.destroy(new Error('Too few nodes responded'))
    else this.push(null)
  }

  // dht-rpc's commit phase, for commits that must run in JS (non-custodial signing hooks):
  // one commit per closest reply; ends if any succeeded (lib/query.js: _endAfterCommit).
  async _runCommit () {
    if (this.closestReplies.length === 0) {
      this.destroy(new Error('Too few nodes responded'))
      return
    }
    const results = await Promise.allSettled(this.closestReplies.map((r) => this._commit(r, this.dht, this)))
    if (this.destroyed) return
    const ok = results.some((r) => r.status === 'fulfilled')
    if (ok) this.push(null)
    else this.destroy(results[results.length - 1].reason)
  }

  _destroy (cb) {
    this._cancel()
    cb(null)
  }

  /** Test hook: the native query's task panics (supervision tests). Not public API. */
  _injectPanic () {
    if (this._native !== null) this._native.injectPanic()
  }

  finished () {
    return new Promise((resolve, reject) => {
      if (this.destroyed) {
        const error = getStreamError(this)
        if (error) reject(error)
        else resolve()
        return
      }
      let error = null
      const onerror = (err) => { error = err }
      const onclose = () => {
        this.removeListener('error', onerror)
        this.removeListener('close', onclose)
        if (error) reject(error)
        else resolve()
      }
      this.resume()
      this.on('error', onerror)
      this.on('close', onclose)
    })
  }
}

// A query whose caller only wants its first mapped reply (immutableGet): resolves with it, or with
// null when the query ends without one; no stream in between. Rust stops the query at that reply.
class FirstReply {
  constructor (dht, kind, resolve, reject) {
    this.dht = dht
    this.kind = kind
    this._resolve = resolve
    this._reject = reject
    this._native = null
  }

  _start (start) {
    this._native = start((ev) => this._onevent(ev))
    this.dht._queries.add(this)
  }

  _onevent (ev) {
    if (this._native === null) return // settled: events queued before that are dropped
    if (ev.type === 'reply') this._onreply(mapReply(this.kind, ev.reply))
    else this._onend(null, ev.error ? errors.fromNative(ev.error) : null)
  }

  _onreply (data) {
    if (data !== null) this._settle().resolve(data)
  }

  _onend (closestReplies, error) {
    const { resolve, reject } = this._settle()
    if (error) reject(error)
    else resolve(null)
  }

  // the node is being destroyed: the query ends without a value, as in dht-rpc
  _ondestroyed () {
    this._settle().resolve(null)
  }

  // forgets the query (stopping it if it still runs); returns the callbacks that are still live
  // (later calls get no-ops)
  _settle () {
    const live = { resolve: this._resolve, reject: this._reject }
    this.dht._queries.delete(this)
    if (this._native !== null) {
      this._native.cancel()
      this._native = null
    }
    this._resolve = this._reject = noop
    return live
  }
}

// dht-rpc's command and value of a query of `kind`; hyperdht's mutable queries ask with a seq
// (mutablePut with 0: "we don't care about the actual values")
function commandOf (kind, spec) {
  if (kind === 'findNode') return FIND_NODE
  if (kind === 'query') return spec.command
  return RECORD_COMMANDS[kind]
}

function valueOf (kind, spec) {
  if (kind === 'query') return spec.value || null
  if (kind === 'mutableGet') return c.encode(c.uint, spec.seq || 0)
  if (kind === 'mutablePut') return c.encode(c.uint, 0)
  return null
}

function defaultMap (m) {
  return m
}

function noop () {}

module.exports = Query
module.exports.FirstReply = FirstReply
