'use strict'
// A query stream shaped like dht-rpc's lib/query.js: a streamx Readable of replies, async-iterable,
// with `finished()` and `closestNodes`/`closestReplies`. The whole iterative query runs in Rust
// (src/query.rs): this object owns its NativeQuery, whose `reply` events, then one `end`, arrive
// at `_onevent` and are pushed here.
const { Readable, getStreamError } = require('streamx')
const errors = require('./errors')
const { mapReply, mapClosest } = require('./replies')

// query kinds whose commit phase runs in Rust
const COMMITS = new Set(['announce', 'lookupAndUnannounce', 'immutablePut', 'mutablePut'])

class Query extends Readable {
  constructor (dht, target) {
    super()
    this.dht = dht
    this.target = target
    this.closestReplies = []
    this.errors = 0
    this.successes = 0
    this.result = null
    this._commit = null
    this._onmap = null
    // dht-rpc opts.map (query/findNode): what the stream yields per reply; falsy = skipped
    this._map = null
    this._native = null // the NativeQuery, while it runs
  }

  /** Starts the query (index.js `_startQuery`): `start(onEvent)` returns its NativeQuery. */
  _start (start) {
    this._native = start((ev) => this._onevent(ev))
    this.dht._queries.add(this)
  }

  _onevent (ev) {
    if (this._native === null) return // cancelled: events queued before that are dropped
    if (ev.type === 'reply') this._onreply(mapReply(this.kind, ev.reply))
    else this._onend(mapClosest(ev.closest), ev.error ? errors.fromNative(ev.error) : null, ev.result)
  }

  // stops the native query (no events after this)
  _cancel () {
    this.dht._queries.delete(this)
    if (this._native === null) return
    this._native.cancel()
    this._native = null
  }

  get closestNodes () {
    return this.closestReplies.map((r) => r.from)
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

  _onend (closestReplies, error, result) {
    this._native = null
    this.dht._queries.delete(this)
    if (closestReplies) this.closestReplies = closestReplies
    if (result && typeof result.successes === 'number') this.successes = result.successes
    this.result = result || null
    if (error) this.destroy(error)
    else if (this._commit !== null) this._runCommit()
    else this.push(null)
  }

  // The node is being destroyed: like dht-rpc, the query just ends with what it has, and a
  // query with a commit phase then has no one to commit to.
  _ondestroyed () {
    this._cancel()
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

function noop () {}

module.exports = Query
module.exports.FirstReply = FirstReply
