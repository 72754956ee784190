'use strict'
// dht-rpc's request-level API over the engine: one request (dht._rpc) with its errors as dht-rpc
// gives them, ping, delayedPing, request and rttStats. index.js keeps the methods and calls these
// with the node.
const b4a = require('b4a')
const errors = require('./errors')
const { pingReply, requestReply } = require('./replies')

// One engine request, in `session` if given; engine errors become DHTErrors, a session's
// destroy(err) rejects with err as is.
function rpc (dht, session, start) {
  const call = (sid) => {
    const inflight = !dht._engineDestroyed
    let p
    try {
      p = start(sid)
    } catch (err) {
      return Promise.reject(dht._rpcError(err, inflight))
    }
    return p.catch((err) => { throw dht._rpcError(err, inflight) })
  }
  return session ? session._track(call) : call(undefined)
}

// dht-rpc: destroy() fails the requests in flight with REQUEST_DESTROYED (dht-rpc lib/io.js
// _clear); one asked for once the io is going is never made: Error('Node destroyed') (dht-rpc
// index.js _requestToPromise)
function rpcError (err, inflight) {
  const e = errors.fromNative(err.message)
  if (e.code !== 'NODE_DESTROYED') return e
  return inflight ? errors.fromNative('REQUEST_DESTROYED: Request destroyed') : errors.rpcDestroyed()
}

// dht-rpc ping(to, {session, size, retry}): `size` zero bytes ride along as the value
async function ping (dht, { host, port }, opts) {
  if (dht.destroyed) throw errors.rpcDestroyed()
  const session = (opts && opts.session) || null
  const size = opts && opts.size > 0 ? opts.size : 0
  const retry = opts && opts.retry === false ? false : undefined
  if (!session && !size && retry === undefined) return pingReply(await dht._rpc(null, () => dht._native.ping(host, port)))
  const value = size ? b4a.alloc(size) : undefined
  return pingReply(await dht._rpc(session, (sid) => dht._native.request(host, port, { command: 0, internal: true, value, retry, session: sid })))
}

/** dht-rpc `delayedPing({host, port}, delayMs)`: the node answers after `delayMs`. */
function delayedPing (dht, { host, port }, delayMs, opts = {}) {
  if (delayMs > dht.maxPingDelay) throw new Error(`Delay exceeds max delay: ${dht.maxPingDelay}ms`)
  if (dht.destroyed) return Promise.reject(errors.rpcDestroyed())
  const retry = opts && opts.retry === false ? false : undefined
  return dht._rpc((opts && opts.session) || null, (sid) => dht._native.delayedPing(host, port, delayMs, { session: sid, retry })).then(pingReply)
}

/** dht-rpc `request({token, target, command, value}, {host, port}, {retry, session})`. */
async function request (dht, { token = null, command, target = null, value = null }, { host, port }, opts = {}) {
  if (dht.destroyed) throw errors.rpcDestroyed()
  const r = await dht._rpc(opts.session || null, (sid) => dht._native.request(host, port, {
    command,
    token: token || undefined,
    target: target || undefined,
    value: value || undefined,
    retry: opts.retry === false ? false : undefined,
    session: sid
  }))
  return requestReply(r)
}

/** dht-rpc `rttStats()`: a findNode for the latest node, averaged. */
async function rttStats (dht) {
  const stats = {
    successes: 0,
    errors: 0,
    responses: { avgRtt: 0, errors: 0, avgCloserNodes: 0 },
    closestReplies: { avgRtt: 0, errors: 0, avgCloserNodes: 0 }
  }
  const latest = dht.nodes.latest
  if (latest) {
    const q = dht.findNode(latest.id)
    const responses = []
    for await (const msg of q) responses.push(msg)
    average(stats.responses, responses)
    average(stats.closestReplies, q.closestReplies)
    stats.successes = q.successes
    stats.errors = q.errors
  }
  return stats
}

// rttStats' figures over `replies` (NaN averages for none, as dht-rpc divides by zero too)
function average (into, replies) {
  let count = 0
  for (const msg of replies) {
    into.avgRtt += msg.rtt
    into.errors += msg.error
    into.avgCloserNodes += msg.closerNodes?.length || 0
    count++
  }
  into.avgRtt /= count
  into.avgCloserNodes /= count
}

module.exports = { rpc, rpcError, ping, delayedPing, request, rttStats }
