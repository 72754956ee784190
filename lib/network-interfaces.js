'use strict'
// udx-native lib/network-interfaces.js as dht-rpc uses it (`io.networkInterfaces`): the
// interface list (`{name, host, family, internal}` per address), re-read every 5 s while
// watching (libudx's interface event polls at that rate); `change` carries the new list.
const { EventEmitter } = require('events')
const dgram = require('dgram')
const net = require('net')

const FREQUENCY = 5000

class NetworkInterfaces extends EventEmitter {
  constructor (udx, frequency = FREQUENCY) {
    super()
    this._udx = udx
    this._frequency = frequency
    this._timer = null
    this._destroyed = false
    this.interfaces = udx.networkInterfaces()
    this._key = keyOf(this.interfaces)
  }

  watch () {
    if (this._timer !== null || this._destroyed) return this
    this._timer = setInterval(() => this._poll(), this._frequency)
    if (this._timer.unref) this._timer.unref()
    return this
  }

  unwatch () {
    if (this._timer === null) return this
    clearInterval(this._timer)
    this._timer = null
    return this
  }

  // after a suspension: start from the current list, like the fresh watcher dht-rpc makes
  rewatch () {
    this.interfaces = this._udx.networkInterfaces()
    this._key = keyOf(this.interfaces)
    return this.watch()
  }

  destroy () {
    this._destroyed = true
    this.unwatch()
  }

  _poll () {
    const list = this._udx.networkInterfaces()
    const key = keyOf(list)
    if (key === this._key) return
    this._key = key
    this.interfaces = list
    this.emit('change', list)
  }

  [Symbol.iterator] () {
    return this.interfaces[Symbol.iterator]()
  }
}

function keyOf (list) {
  return list.map((n) => `${n.name}|${n.host}|${n.family}|${n.internal}`).sort().join(',')
}

module.exports = NetworkInterfaces

// hyperdht validateLocalAddresses' probe: can a socket bind `host` and hear itself there
// within 500 ms?
module.exports.probeLocal = function probeLocal (host) {
  return new Promise((resolve) => {
    const family = net.isIP(host)
    if (!family) return resolve(false)
    let sock
    try {
      sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4')
    } catch {
      return resolve(false)
    }
    let done = false
    const timer = setTimeout(() => finish(false), 500)
    sock.on('error', () => finish(false))
    sock.on('message', () => finish(true))
    sock.bind(0, host, () => {
      sock.send(Buffer.alloc(1), sock.address().port, host, (err) => { if (err) finish(false) })
    })

    function finish (ok) {
      if (done) return
      done = true
      clearTimeout(timer)
      try { sock.close() } catch {}
      resolve(ok)
    }
  })
}
