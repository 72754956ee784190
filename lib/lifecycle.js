'use strict'
// The node's lifecycle past the constructor: hyperdht's suspend() and resume() (servers, raw
// streams, then dht-rpc's own suspend/resume of the engine) and destroy()'s teardown. index.js
// keeps the methods and calls these with the node.
const errors = require('./errors')

/** hyperdht `suspend({log})`: servers, then the node (pending requests fail with IO_SUSPENDED). */
async function suspend (dht, { log = noop } = {}) {
  const suspending = []
  for (const server of dht.listening) suspending.push(server.suspend())
  log('Suspending all hyperdht servers')
  await Promise.allSettled(suspending)
  // hyperdht: rawStreams.clear() destroys every connection's UDX stream; a connect still
  // in progress (no stream yet) goes on and fails as its requests do (PEER_NOT_FOUND, ...)
  log('Done, clearing all raw streams')
  for (const c of [...dht._conns]) if (c.rawStream !== null) c.destroy()
  await dht._clearRawStreams()
  log('Done, suspending dht-rpc')
  await dht._suspendRpc(log)
  log('Done, clearing raw streams again')
  log('Done, hyperdht fully suspended')
}

// dht-rpc `suspend({log})`
async function suspendRpc (dht, log) {
  log('Suspending waiting for io bind...')
  await dht._bootstrapping.catch(noop) // dht-rpc waits for io.bind()
  log('Done, continuing')
  if (dht.suspended || dht.destroyed) return
  dht.suspended = true
  dht._networkInterfaces.unwatch()
  log('Done, suspending io')
  await dht._native.suspend()
  log('Done, dht suspended')
  dht.emit('suspend')
}

/** hyperdht `resume({log})`: the node wakes up and refreshes, then the servers re-announce. */
async function resume (dht, { log = noop } = {}) {
  if (dht._deferRandomPunch && !dht.destroyed) dht._native.deferRandomPunch()
  if (dht.suspended && !dht.destroyed) {
    dht.suspended = false
    // dht-rpc `_onwakeup()` emits `wakeup` before the io resumes; the engine's own wakeup
    // event for this resume is skipped
    dht._state = null
    if (dht.adaptive && !dht.ephemeral) {
      // and an adaptive node turns ephemeral first (`ephemeral` reads true from here on)
      dht._resumeEvents.ephemeral++
      dht.emit('ephemeral')
    }
    dht._resumeEvents.wakeup++
    dht.emit('wakeup')
    log('Resuming io')
    await dht._native.resume()
    log('Done, dht resumed')
    dht._networkInterfaces.rewatch()
    dht._state = null
    dht.emit('resume')
  }
  const resuming = []
  for (const server of dht.listening) resuming.push(server.resume())
  log('Resuming hyperdht servers')
  await Promise.allSettled(resuming)
  log('Done, hyperdht fully resumed')
}

// destroy(): servers close first unless forced, then plugins, queries, connections and raw
// streams go before the engine does
async function destroy (dht, force) {
  if (!force) {
    const closing = []
    for (const server of dht.listening) closing.push(server.close())
    await Promise.allSettled(closing)
  }
  for (const plugin of dht.plugins.values()) plugin.destroy()
  dht._networkInterfaces.destroy()
  for (const q of [...dht._queries]) q._ondestroyed()
  dht._queries.clear()
  dht._state = null
  // like hyperdht destroying its raw streams: open connections close without an error,
  // dials fail as hyperdht's connect does when its FIND_PEER query dies with the node
  // (PEER_NOT_FOUND; later stages give PEER_CONNECTION_FAILED or HOLEPUNCH_ABORTED there)
  for (const c of [...dht._conns]) {
    if (!c._isOpen) c._onfail(errors.PEER_NOT_FOUND())
    else c.destroy()
  }
  // hyperdht: rawStreams.clear() (their close events come before the native side goes)
  for (const s of [...dht._rawStreams]) s.destroy()
  // dht-rpc: address() still reads the closed socket's address
  dht._closedAddress = dht.address()
  dht._engineDestroyed = true
  await dht._native.destroy(force)
  // close events still on their way are implied (each object ignores its own late one)
  for (const c of [...dht._conns]) c._onclose(null)
  dht._conns.clear()
  for (const s of [...dht._rawStreams]) s._onclose(null)
  dht._rawStreams.clear()
  dht._socket._onclose()
  dht.destroyed = true
  dht.emit('close')
}

function noop () {}

module.exports = { suspend, suspendRpc, resume, destroy }
