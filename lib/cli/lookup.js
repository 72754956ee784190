'use strict'
// `hyperdht-rs lookup <topic>`: the peers announced under a topic (hyperdht `dht.lookup(topic)`),
// each printed once as it arrives.
const { secondsFlag } = require('./args')
const { DHT, NETWORK_FLAGS, NETWORK_HELP, TOPIC_HELP, TIMEOUT_HELP, parseTopic, nodeOptions, hex, hostPort, oneShot } = require('./common')

const name = 'lookup'

const spec = {
  flags: { ...NETWORK_FLAGS, json: { value: false }, timeout: { value: true } },
  positionals: ['topic']
}

const help = `Usage: hyperdht-rs lookup <topic> [options]

Finds the peers announced under <topic> and prints each once, as it is found: its public key
(hex), then " via host:port,..." when it announced relay addresses. Progress goes to stderr.
Exits 0 when the lookup completes, whether or not peers were found.

${TOPIC_HELP}

Options:
  --json                       one JSON object per peer: {"publicKey", "relayAddresses", "from"}
${TIMEOUT_HELP}

${NETWORK_HELP}`

async function run ({ flags, positionals }, ctx) {
  const topic = parseTopic(positionals[0], name)
  const timeout = secondsFlag(flags, 'timeout', { fallback: 30, positive: true, command: name })
  const node = new DHT(nodeOptions(flags, name))

  return oneShot(ctx, [node], timeout, async (out) => {
    await node.ready()
    out.stderr.write(`Looking up ${hex(topic)}...\n`)
    const seen = new Set()
    let replies = 0
    for await (const reply of node.lookup(topic)) {
      replies++
      for (const peer of reply.peers) {
        const key = hex(peer.publicKey)
        if (seen.has(key)) continue
        seen.add(key)
        const relays = peer.relayAddresses.map(hostPort)
        if (flags.json) {
          out.stdout.write(JSON.stringify({ publicKey: key, relayAddresses: relays, from: hostPort(reply.from) }) + '\n')
        } else {
          out.stdout.write(key + (relays.length ? ' via ' + relays.join(',') : '') + '\n')
        }
      }
    }
    out.stderr.write(`Found ${seen.size} peer${seen.size === 1 ? '' : 's'} (${replies} node${replies === 1 ? '' : 's'} had records)\n`)
    return 0
  })
}

module.exports = { name, summary: 'print the peers announced under a topic', spec, help, run }
