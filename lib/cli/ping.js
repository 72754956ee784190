'use strict'
// `hyperdht-rs ping <host:port>`: dht-rpc PING to one node, printing its id, the round trip and
// the address it saw us at.
const dns = require('dns')
const net = require('net')
const { intFlag, secondsFlag } = require('./args')
const { DHT, TIMEOUT_HELP, parseHostPort, parseIPv4, hex, hostPort, oneShot } = require('./common')

const name = 'ping'

const spec = {
  flags: {
    host: { value: true },
    port: { value: true },
    count: { value: true },
    interval: { value: true },
    json: { value: false },
    timeout: { value: true }
  },
  positionals: ['host:port']
}

const help = `Usage: hyperdht-rs ping <host:port> [options]

Sends DHT PING requests to one node and prints, per reply: the node's id (none for ephemeral
nodes), the round trip and the address it saw this host at. Exits 1 when no reply came back.
Needs no bootstrapping.

Options:
  --count <n>                  pings to send (default 1)
  --interval <seconds>         time between pings (default 1)
  --json                       one JSON object per reply: {"host", "port", "id", "rtt", "seenAs"}
${TIMEOUT_HELP}
  --host <ip>                  IPv4 address to bind (default 0.0.0.0)
  --port <port>                UDP port to bind (default any)`

async function run ({ flags, positionals }, ctx) {
  const target = parseHostPort(positionals[0], name)
  const count = intFlag(flags, 'count', { min: 1, max: 1e6, fallback: 1, command: name })
  const interval = secondsFlag(flags, 'interval', { fallback: 1, command: name })
  const timeout = secondsFlag(flags, 'timeout', { fallback: 30, positive: true, command: name })
  const port = intFlag(flags, 'port', { max: 65535, fallback: 0, command: name })
  const opts = { bootstrap: [], port, anyPort: !port }
  if (flags.host !== undefined) opts.host = parseIPv4(flags.host, 'host', name)
  const node = new DHT(opts)

  return oneShot(ctx, [node], timeout, async (out) => {
    if (!net.isIPv4(target.host)) target.host = (await dns.promises.lookup(target.host, { family: 4 })).address
    await node.ready()
    let replies = 0
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, interval * 1000))
      try {
        const r = await node.ping(target)
        replies++
        const id = r.from.id ? hex(r.from.id) : null
        if (flags.json) {
          out.stdout.write(JSON.stringify({ host: r.from.host, port: r.from.port, id, rtt: r.rtt, seenAs: r.to ? hostPort(r.to) : null }) + '\n')
        } else {
          out.stdout.write(`pong from ${hostPort(r.from)} id ${id || 'none (ephemeral)'} time ${r.rtt} ms, sees us at ${hostPort(r.to)}\n`)
        }
      } catch (err) {
        out.stderr.write(`no reply from ${hostPort(target)}: ${err.message}\n`)
      }
    }
    return replies > 0 ? 0 : 1
  })
}

module.exports = { name, summary: 'ping a DHT node (host:port)', spec, help, run }
