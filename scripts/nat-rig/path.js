'use strict'
// Which path a connection took, from what each implementation exposes:
// * JS hyperdht: the raw UDX stream's remote address is the relay's when relayed (hyperdht
//   lib/connect.js relayConnection connects the raw stream to relaySocket.rawStream's remote);
//   dht.stats.punches.open grows when this side took the open shortcut (connect.js holepunch() /
//   server.js: remote firewall OPEN -> onsocket straight away); and a Holepuncher that turns
//   `connected` on a holepunch message (holepuncher.js _onholepunchmessage) means the stream came
//   through a punched NAT session: a fast-open probe round or a full punch round. The last one
//   needs a wrapper on Holepuncher.prototype (instrumentJs), installed once per peer process.
// * hyperdht-rs: dht.metrics() counts opened connections by side and path
//   (hyperdht_connections_opened_total{side,path}: direct, lan, holepunched, relayed).

const FIREWALL_NAMES = ['unknown', 'open', 'consistent', 'random']

function firewallName (n) {
  return typeof n === 'number' ? (FIREWALL_NAMES[n] || String(n)) : null
}

const punched = { count: 0 }

function instrumentJs () {
  const Holepuncher = require('hyperdht/lib/holepuncher')
  const proto = Holepuncher.prototype
  if (proto._natRigWrapped) return
  const orig = proto._onholepunchmessage
  proto._onholepunchmessage = function (msg, addr, ref) {
    const was = this.connected
    const r = orig.call(this, msg, addr, ref)
    if (!was && this.connected) punched.count++
    return r
  }
  proto._natRigWrapped = true
}

function jsCounters (dht) {
  const p = dht.stats.punches
  return { open: p.open, punchRounds: p.consistent + p.random, punched: punched.count }
}

function rsCounters (dht, side) {
  const out = {}
  const re = /^hyperdht_connections_opened_total\{side="(\w+)",path="(\w+)"\} (\d+)/
  for (const line of dht.metrics().split('\n')) {
    const m = re.exec(line)
    if (m && m[1] === side) out[m[2]] = Number(m[3])
  }
  return out
}

/** Snapshot before a connection; `resolve(socket)` after it opened gives the path. */
function tracker (impl, dht, side, relayHost) {
  const before = impl === 'js' ? jsCounters(dht) : rsCounters(dht, side)
  return function resolve (socket) {
    const raw = socket.rawStream || {}
    const remote = { host: raw.remoteHost || null, port: raw.remotePort || 0 }
    if (impl === 'js') {
      const now = jsCounters(dht)
      const d = { open: now.open - before.open, punchRounds: now.punchRounds - before.punchRounds, punched: now.punched - before.punched }
      let path = 'direct'
      if (relayHost && remote.host === relayHost) path = 'relayed'
      else if (d.open > 0) path = 'direct'
      else if (d.punched > 0) path = 'holepunched'
      return { path, remote, js: d }
    }
    const now = rsCounters(dht, side)
    const grown = Object.keys(now).filter((k) => now[k] > (before[k] || 0))
    const path = grown.length === 1 ? grown[0] : grown.length === 0 ? 'unknown' : grown.join('+')
    return { path, remote }
  }
}

module.exports = { tracker, firewallName, instrumentJs }
