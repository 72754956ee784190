'use strict'
// `require('hyperdht/lib/holepuncher')`. Our holepunching runs inside the Rust engine, so this
// class is a stand-in with upstream's shape: the statics (matchAddress, localAddresses, ping)
// behave exactly like hyperdht 6.34's, instances track the remote side like upstream's do but
// never punch on their own (punch() resolves false), and the prototype carries the same method
// names so code that wraps e.g. `Holepuncher.prototype._punch` loads and runs.

const b4a = require('b4a')
const os = require('os')
const Nat = require('./nat')
const { FIREWALL } = require('./constants')

const HOLEPUNCH = b4a.from([0]) // the one-byte probe hyperdht sends
const HOLEPUNCH_TTL = 5 // low TTL: opens our NAT mapping without reaching the remote NAT
const DEFAULT_TTL = 64

class Holepuncher {
  constructor (dht, session, isInitiator, remoteFirewall = FIREWALL.UNKNOWN) {
    this.dht = dht
    this.session = session
    this.isInitiator = isInitiator

    // Not sampled here: the engine owns the sockets and does its own NAT analysis.
    this.nat = new Nat(dht, session, null)

    this.onconnect = noop
    this.onabort = noop

    this.punching = false
    this.connected = false
    this.destroyed = false
    this.randomized = false

    this.remoteFirewall = remoteFirewall
    this.remoteAddresses = []
    this.remoteHolepunching = false

    this._punching = null
    this._reopening = null
    this._holder = null
    this._allHolders = []
  }

  get socket () {
    return this._holder ? this._holder.socket : null
  }

  /** Takes the remote's latest holepunch payload; an address stays verified once it was. */
  updateRemote ({ punching, firewall, addresses, verified }) {
    const next = (addresses || []).map(({ host, port }) => ({
      host,
      port,
      verified: verified === host || this._isVerified(host)
    }))

    this.remoteFirewall = firewall
    this.remoteAddresses = next
    this.remoteHolepunching = punching
  }

  _isVerified (host) {
    return this.remoteAddresses.some((a) => a.verified && a.host === host)
  }

  ping (addr, socket = this.socket) {
    return socket ? sendProbe(socket, addr, false) : Promise.resolve(false)
  }

  openSession (addr, socket = this.socket) {
    return socket ? sendProbe(socket, addr, true) : Promise.resolve(false)
  }

  /** Whether our NAT is stable enough to punch (no sampling here, so no waiting either). */
  async analyze (allowReopen) {
    return !this._unstable()
  }

  _unstable () {
    const local = this.nat.firewall
    if (local === FIREWALL.UNKNOWN) return true
    return local >= FIREWALL.RANDOM && this.remoteFirewall >= FIREWALL.RANDOM
  }

  punch () {
    if (this._punching === null) this._punching = this._punch()
    return this._punching
  }

  async _punch () {
    return false // the engine punches; nothing to do in JS
  }

  _done () {
    return this.destroyed || this.connected
  }

  destroy () {
    if (this.destroyed) return
    this.destroyed = true
    this.punching = false

    for (const holder of this._allHolders) holder.release()
    this._allHolders = []
    this._holder = null
    this.nat.destroy()

    if (!this.connected) this.onabort()
  }

  static ping (socket, addr) {
    return sendProbe(socket, addr, false)
  }

  static localAddresses (socket) {
    return localAddresses(socket)
  }

  static matchAddress (myAddresses, externalAddresses) {
    return matchAddress(myAddresses, externalAddresses)
  }
}

// udx-native socket.send(buffer, port, host, ttl)
function sendProbe (socket, addr, lowTTL) {
  return socket.send(HOLEPUNCH, addr.port, addr.host, lowTTL ? HOLEPUNCH_TTL : DEFAULT_TTL)
}

// Our LAN addresses with the socket's port: loopback-bound sockets only offer 127.0.0.1,
// otherwise every external IPv4 interface (127.0.0.1 when there is none).
function localAddresses (socket) {
  const { host, port } = socket.address()
  if (host === '127.0.0.1') return [{ host, port }]

  const out = []
  for (const nic of interfaces(socket)) {
    if (nic.internal || !(nic.family === 4 || nic.family === 'IPv4')) continue
    out.push({ host: nic.host || nic.address, port })
  }
  if (out.length === 0) out.push({ host: '127.0.0.1', port })
  return out
}

function interfaces (socket) {
  if (socket.udx && typeof socket.udx.networkInterfaces === 'function') {
    return socket.udx.networkInterfaces()
  }
  return Object.values(os.networkInterfaces()).flat()
}

// Picks the remote LAN address most likely reachable from ours: the first one sharing our first
// three IPv4 octets wins outright; otherwise the first to share two octets, else the first to
// share one; null when none shares even the first octet.
function matchAddress (localList, remoteList) {
  if (remoteList.length === 0) return null

  let bestLevel = 0 // octets shared by `best`
  let best = null

  for (const local of localList) {
    const mine = local.host.split('.')
    for (const remote of remoteList) {
      const theirs = remote.host.split('.')
      if (mine[0] !== theirs[0]) continue
      if (bestLevel < 1) {
        bestLevel = 1
        best = remote
      }
      if (mine[1] !== theirs[1]) continue
      if (bestLevel < 2) {
        bestLevel = 2
        best = remote
      }
      if (mine[2] === theirs[2]) return remote
    }
  }

  return best
}

function noop () {}

module.exports = Holepuncher
