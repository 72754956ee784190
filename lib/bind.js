'use strict'
// The node's bound socket as JS reports it: udx-native's bind errors made from the engine's, the
// ready() failure of a node destroyed before it bootstrapped, and dht-rpc's localIP() behind
// `localAddress()`.
const os = require('os')

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

// dht-rpc _bootstrap: a node destroyed before it is ready fails its bootstrap query's next
// request, and that query with a plain Error('Node was destroyed') (lib/query.js _visit), which
// ready() and fullyBootstrapped() reject with
function bootstrapError (err) {
  return err.code === 'NODE_DESTROYED' ? new Error('Node was destroyed') : err
}

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

module.exports = { bindError, bootstrapError, localIP }
