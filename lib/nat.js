'use strict'
// NAT sampling as hyperdht's lib/nat.js does it (6.34): ask DHT nodes how they see us and classify
// our firewall from the answers. Our engine does its own sampling in Rust; this class exists for
// code that uses `require('hyperdht/lib/nat')` directly, and behaves the same:
//
//   new Nat(dht, session, socket)  dht needs `firewalled` (and, for autoSample, a routing table)
//   add(addr, from)                one sample: `from` saw us at `addr`; one per referrer counts
//   sampled / firewall / addresses the current verdict (FIREWALL.*; addresses null while UNKNOWN)
//   analyzing                      resolves once enough samples arrived (or sampling gave up)
//   autoSample(retry), update(), freeze(), unfreeze(), destroy()

const { FIREWALL } = require('./constants')

const MIN_SAMPLES = 4 // samples we wait for before `analyzing` resolves without a verdict
const SKIP_NEWEST = 5 // with a big enough table, leave the newest nodes alone (they may be us)
const SKIP_WHEN_AT_LEAST = 8

// `_visited` marks per "host:port" referrer
const PINGED = 1
const SAMPLED = 2

class Nat {
  constructor (dht, session, socket) {
    this.dht = dht
    this.session = session
    this.socket = socket

    this.sampled = 0
    this.firewall = dht.firewalled ? FIREWALL.UNKNOWN : FIREWALL.OPEN
    this.addresses = null

    // Observations, most hits first: by host only (port 0) and by host + port.
    this._samplesHost = []
    this._samplesFull = []
    this._visited = new Map()
    this._minSamples = MIN_SAMPLES
    this._autoSampling = false
    this._resolve = null

    this.analyzing = new Promise((resolve) => {
      this._resolve = resolve
    })
  }

  /** Pings up to 4 routing-table nodes (newest first) and adds what they report; retries once. */
  autoSample (retry = true) {
    if (this._autoSampling) return
    this._autoSampling = true

    const nodes = newestFirst(this.dht)
    let skip = tableSize(this.dht) >= SKIP_WHEN_AT_LEAST ? SKIP_NEWEST : 0
    let inflight = 0

    const settle = () => {
      inflight--
      if (inflight !== 0 || this.sampled >= this._minSamples) return
      if (retry) {
        this._autoSampling = false
        this.autoSample(false)
      } else {
        this._resolve()
      }
    }
    const onpong = (res) => {
      if (res && res.to && res.from) this.add(res.to, res.from)
      settle()
    }

    for (const node of nodes) {
      if (this.sampled + inflight >= this._minSamples) break
      if (skip > 0) {
        skip--
        continue
      }

      const ref = node.host + ':' + node.port
      if (this._visited.has(ref)) continue
      this._visited.set(ref, PINGED)

      inflight++
      this._ping(node).then(onpong, settle)
    }

    // Settles right away when nothing could be pinged (and otherwise after the last answer).
    inflight++
    settle()
  }

  _ping (node) {
    if (this.session) return this.session.ping(node, { socket: this.socket, retry: false })
    return this.dht.ping(node, { socket: this.socket, retry: false }) // no dht-rpc session here
  }

  destroy () {
    this._autoSampling = true // no more sampling rounds
    this._minSamples = 0
    this._resolve()
  }

  freeze () {
    this.frozen = true
  }

  unfreeze () {
    this.frozen = false
    this._updateFirewall()
    this._updateAddresses()
  }

  update () {
    // A node that became firewalled since has to earn a verdict from its samples again.
    if (this.dht.firewalled && this.firewall === FIREWALL.OPEN) this.firewall = FIREWALL.UNKNOWN
    this._updateFirewall()
    this._updateAddresses()
  }

  add (addr, from) {
    const ref = from.host + ':' + from.port
    if (this._visited.get(ref) === SAMPLED) return
    this._visited.set(ref, SAMPLED)

    recordSample(this._samplesHost, addr.host, 0)
    recordSample(this._samplesFull, addr.host, addr.port)
    this.sampled++

    if ((this.sampled >= 3 || !this.dht.firewalled) && !this.frozen) this.update()

    const settled = this.firewall === FIREWALL.CONSISTENT || this.firewall === FIREWALL.OPEN
    if (settled || this.sampled >= this._minSamples) this._resolve()
  }

  _updateFirewall () {
    if (!this.dht.firewalled) {
      this.firewall = FIREWALL.OPEN
      return
    }
    if (this.sampled < 3) return // too early to tell

    const top = this._samplesFull[0].hits

    // Three or more answers agree on host:port: the NAT keeps our mapping.
    if (top >= 3) {
      this.firewall = FIREWALL.CONSISTENT
      return
    }
    // Every answer saw a different port: the NAT randomizes.
    if (top === 1) {
      this.firewall = FIREWALL.RANDOM
      return
    }

    // The best host:port was seen exactly twice.
    const hosts = this._samplesHost.length
    if (hosts === 1 && this.sampled > 3) {
      // one public IP, and at least two answers disagree on the port
      this.firewall = FIREWALL.RANDOM
    } else if (hosts > 1 && this._samplesFull[1].hits > 1) {
      // two public IPs, each with a stable port (e.g. two uplinks)
      this.firewall = FIREWALL.CONSISTENT
    } else if (this.sampled > 4) {
      // more samples than we ever ask for and still no pattern
      this.firewall = FIREWALL.RANDOM
    }
  }

  _updateAddresses () {
    switch (this.firewall) {
      case FIREWALL.UNKNOWN:
        this.addresses = null
        break
      case FIREWALL.RANDOM:
        // the port is unpredictable: only the most seen host (with port 0) is worth sharing
        this.addresses = [this._samplesHost[0]]
        break
      case FIREWALL.CONSISTENT: {
        // every host:port seen at least twice, padded with the best ones up to two entries
        const list = []
        for (const sample of this._samplesFull) {
          if (sample.hits >= 2 || list.length < 2) list.push(sample)
        }
        this.addresses = list
        break
      }
      // OPEN leaves `addresses` as it is
    }
  }
}

// Counts one observation of host:port, keeping `samples` sorted by hits (most first; among equal
// hits the earlier seen stays first). The entries are shared with `addresses`, as upstream does.
function recordSample (samples, host, port) {
  let i = samples.findIndex((s) => s.host === host && s.port === port)
  if (i === -1) {
    samples.push({ host, port, hits: 1 })
    return
  }

  const s = samples[i]
  s.hits++
  while (i > 0 && samples[i - 1].hits < s.hits) {
    samples[i] = samples[i - 1]
    samples[--i] = s
  }
}

// The routing table, newest first: dht-rpc's linked list (`nodes.latest` / `.prev`) when the dht
// has one, else our `toArray()` (which lists the oldest first).
function * newestFirst (dht) {
  const nodes = dht.nodes
  if (nodes && 'latest' in nodes) {
    for (let node = nodes.latest; node; node = node.prev) yield node
    return
  }
  if (typeof dht.toArray === 'function') {
    const list = dht.toArray()
    for (let i = list.length - 1; i >= 0; i--) yield list[i]
  }
}

function tableSize (dht) {
  if (dht.nodes && typeof dht.nodes.length === 'number') return dht.nodes.length
  return typeof dht.toArray === 'function' ? dht.toArray().length : 0
}

module.exports = Nat
