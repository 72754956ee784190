'use strict'
// `hyperdht-rs announce <topic>`: announces a key pair under a topic (hyperdht `dht.announce`),
// re-announces every --refresh seconds like hyperswarm does, and unannounces on Ctrl-C.
const util = require('util')
const { secondsFlag } = require('./args')
const { DHT, NETWORK_FLAGS, NETWORK_HELP, TOPIC_HELP, parseTopic, keyPairOf, nodeOptions, hex, interrupted, withDeadline, destroyAll } = require('./common')
const { StatusLine, statusInterval, STATUS_HELP } = require('./status')

const name = 'announce'
const REFRESH = 600 // hyperswarm lib/peer-discovery.js: REFRESH_INTERVAL (10 min)
const UNANNOUNCE_TIMEOUT = 15000

const spec = {
  flags: { ...NETWORK_FLAGS, seed: { value: true }, refresh: { value: true }, status: { value: true } },
  positionals: ['topic']
}

const help = `Usage: hyperdht-rs announce <topic> [options]

Announces this host under <topic> and stays announced (re-announcing every --refresh seconds)
until Ctrl-C, which unannounces and exits. Prints the topic and the announced public key.

${TOPIC_HELP}

Options:
  --seed <hex|string>          key pair seed: 64 hex characters as is, else hashed (default: random)
  --refresh <seconds>          re-announce interval (default ${REFRESH}, as hyperswarm)
${STATUS_HELP}

${NETWORK_HELP}`

async function run ({ flags, positionals }, ctx) {
  const topic = parseTopic(positionals[0], name)
  const keyPair = keyPairOf(flags, name)
  const refresh = secondsFlag(flags, 'refresh', { fallback: REFRESH, positive: true, command: name })
  const interval = statusInterval(flags, ctx.stdout, name)
  const node = new DHT(nodeOptions(flags, name))
  const status = new StatusLine(ctx.stdout, { interval, nodes: () => [node] })
  const log = (...args) => status.log(util.format(...args))
  const stop = interrupted(ctx.stderr)
  let stopped = false
  stop.then(() => { stopped = true })

  const announce = async () => {
    const q = node.announce(topic, keyPair)
    await q.finished()
    return q.closestReplies.length
  }

  let timer = null
  try {
    log(`Announcing ${hex(topic)} as ${hex(keyPair.publicKey)}`)
    const first = await Promise.race([node.ready().then(announce), stop.then(() => null)])
    if (first !== null) {
      log(`Announced to ${first} nodes; Ctrl-C unannounces and exits`)
      status.start()
      const again = () => {
        announce().then(
          (n) => log(`Re-announced to ${n} nodes`),
          (err) => log(`Re-announcing failed: ${err.message}`)
        ).finally(() => {
          if (!stopped) timer = setTimeout(again, refresh * 1000)
        })
      }
      timer = setTimeout(again, refresh * 1000)
      await stop
    }
  } catch (err) {
    status.stop()
    ctx.stderr.write(`hyperdht-rs: announcing failed: ${err.message}\n`)
    await destroyAll([node]).catch(() => {})
    return 1
  }
  clearTimeout(timer)
  status.stop()

  let code = 0
  if (node.bootstrapped) {
    log('Unannouncing...')
    try {
      await withDeadline(node.unannounce(topic, keyPair), UNANNOUNCE_TIMEOUT, `unannouncing took over ${UNANNOUNCE_TIMEOUT / 1000}s`)
      log('Unannounced')
    } catch (err) {
      ctx.stderr.write(`hyperdht-rs: ${err.message}\n`)
      code = 1
    }
  }
  await destroyAll([node])
  return code
}

module.exports = { name, summary: 'announce under a topic until Ctrl-C, then unannounce', spec, help, run }
