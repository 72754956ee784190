'use strict'
// The rig's address plan. The public side uses the benchmark range 198.18.0.0/15 (RFC 2544) and
// TEST-NET-3 203.0.113.0/24 (RFC 5737) for firewalled peers' routed addresses; NAT'd peers sit in
// 10.x/24 behind their router. Nothing here is reachable from, or routed to, the real network.
const PREFIX = 15
const GATEWAY = '198.18.0.1' // the `inet` namespace: bridge + router for 203.0.113.0/24
const DHT_PORT = 49737

function dhtHost (i) {
  return `198.18.1.${i + 1}`
}

const RELAY_HOST = '198.18.2.1'

/**
 * Slot `s` (0-based): one peer position, with its router if the kind has one. `host` numbers the
 * peers of a LAN that several share behind one NAT router (2, 3, ...; NAT kinds only).
 */
function slot (s, kind, host = 2) {
  if (s < 0 || s > 60) throw new Error('slot out of range: ' + s)
  const wan = `198.18.${10 + s}.1`
  if (kind === 'open') return { wan, peer: wan, peerPrefix: PREFIX, peerGateway: GATEWAY }
  if (kind === 'firewalled') {
    const base = 4 * s
    return {
      wan,
      lan: `203.0.113.${base + 1}`,
      lanNet: `203.0.113.${base}/30`,
      lanPrefix: 30,
      peer: `203.0.113.${base + 2}`,
      peerPrefix: 30,
      peerGateway: `203.0.113.${base + 1}`
    }
  }
  return {
    wan,
    lan: `10.${10 + s}.0.1`,
    lanPrefix: 24,
    peer: `10.${10 + s}.0.${host}`,
    peerPrefix: 24,
    peerGateway: `10.${10 + s}.0.1`
  }
}

module.exports = { PREFIX, GATEWAY, DHT_PORT, RELAY_HOST, dhtHost, slot }
