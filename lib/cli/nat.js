'use strict'
// `hyperdht-rs nat`: how the DHT sees this host. Bootstraps a node, pings routing-table nodes and
// classifies the NAT from where they saw us with hyperdht's rules (lib/nat.js, used by the
// holepuncher), next to the node's own firewalled verdict and addresses.
const { secondsFlag } = require('./args')
const { DHT, NETWORK_FLAGS, NETWORK_HELP, TIMEOUT_HELP, nodeOptions, hostPort, oneShot } = require('./common')
const Nat = require('../nat')

const name = 'nat'
const SAMPLES = 8 // nodes to ask (hyperdht asks 4 per holepunch; more makes the verdict steadier)

const FIREWALL_NAMES = Object.fromEntries(Object.entries(DHT.FIREWALL).map(([k, v]) => [v, k]))

const spec = {
  flags: { ...NETWORK_FLAGS, json: { value: false }, timeout: { value: true } },
  positionals: []
}

const help = `Usage: hyperdht-rs nat [options]

Joins the DHT, asks up to ${SAMPLES} nodes where they see this host (DHT PING) and prints:
  firewalled   the node's verdict: can other nodes reach its server socket unasked?
  nat          the NAT class hyperdht's holepuncher would use: OPEN (not firewalled),
               CONSISTENT (same port towards everyone: holepunchable), RANDOM (a new port per
               destination) or UNKNOWN (too few answers)
  addresses    the addresses a holepunch would advertise for that class
  samples      each node asked and where it saw us
  dht address  host:port the node settled on from its own sampling; remoteAddress when reachable

Options:
  --json                       all of the above as one JSON object
${TIMEOUT_HELP}

${NETWORK_HELP}`

async function run ({ flags }, ctx) {
  const timeout = secondsFlag(flags, 'timeout', { fallback: 30, positive: true, command: name })
  const node = new DHT(nodeOptions(flags, name))

  return oneShot(ctx, [node], timeout, async (out) => {
    await node.ready()
    const nat = new Nat(node, null, null)
    const samples = []
    const table = node.toArray().slice(-SAMPLES).reverse() // newest first, as hyperdht samples
    await Promise.all(table.map(async (peer) => {
      try {
        const r = await node.ping(peer)
        if (!r.to) return
        samples.push({ from: hostPort(r.from), seenAs: hostPort(r.to) })
        nat.add(r.to, r.from)
      } catch {} // unanswered pings are just no sample
    }))
    nat.update()
    const report = {
      firewalled: node.firewalled,
      nat: FIREWALL_NAMES[nat.firewall],
      addresses: nat.firewall === DHT.FIREWALL.OPEN ? uniqueSeen(samples) : (nat.addresses || []).map(hostPort),
      samples,
      host: node.host,
      port: node.port,
      remoteAddress: node.remoteAddress() ? hostPort(node.remoteAddress()) : null,
      localAddress: node.localAddress() ? hostPort(node.localAddress()) : null
    }
    if (flags.json) {
      out.stdout.write(JSON.stringify(report) + '\n')
      return 0
    }
    const lines = [
      `firewalled: ${report.firewalled ? 'yes' : 'no'}`,
      `nat: ${report.nat} (${samples.length} of ${table.length} nodes answered)`,
      `addresses: ${report.addresses.join(', ') || '-'}`,
      'samples:',
      ...samples.map((s) => `  ${s.from} sees us at ${s.seenAs}`),
      `dht address: ${report.host ? report.host + ':' + report.port : '-'}${report.port === 0 && report.host ? ' (port randomized)' : ''}`,
      `remoteAddress: ${report.remoteAddress || '- (not reachable unasked)'}`,
      `localAddress: ${report.localAddress || '-'}`
    ]
    out.stdout.write(lines.join('\n') + '\n')
    return 0
  })
}

// an open host shares where it was seen: every distinct host:port, most seen first
function uniqueSeen (samples) {
  const hits = new Map()
  for (const s of samples) hits.set(s.seenAs, (hits.get(s.seenAs) || 0) + 1)
  return [...hits.entries()].sort((a, b) => b[1] - a[1]).map(([a]) => a)
}

module.exports = { name, summary: 'print the NAT class, firewalled state and addresses the DHT sees', spec, help, run }
