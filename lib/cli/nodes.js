'use strict'
// `hyperdht-rs [nodes]`: runs DHT nodes until Ctrl-C, with the flags and output lines of
// upstream's `hyperdht` command (hyperdht/bin.js startNodes), plus --persistent and status lines.
const util = require('util')
const { intFlag, UsageError } = require('./args')
const { DHT, NETWORK_FLAGS, nodeOptions, interrupted, destroyAll } = require('./common')
const { StatusLine, statusInterval, STATUS_HELP } = require('./status')

const name = 'nodes'

const spec = {
  flags: {
    ...NETWORK_FLAGS,
    nodes: { value: true },
    node: { value: false },
    persistent: { value: false },
    status: { value: true }
  },
  positionals: []
}

const help = `Usage: hyperdht-rs [nodes] [options]

Runs DHT nodes until Ctrl-C (what \`hyperdht\` does without --bootstrap-node mode).

Options:
  --nodes <n>                  how many nodes to run (default 1)
  --node                       run a single node (overrides --nodes)
  --bootstrap <host:port,...>  bootstrap nodes, comma separated (default: the public hyperdht ones)
  --host <ip>                  IPv4 address to bind (default 0.0.0.0)
  --port <port>                UDP port to bind; only with a single node (default: 49737 if free, else any)
  --persistent                 join routing tables now (ephemeral: false) instead of after ~20 min of
                               stable uptime; the node still checks that it is reachable
${STATUS_HELP}

Prints "Node #i bound to", "is ephemeral", "is persistent, joining remote routing tables" and
"closed" lines as upstream does.`

async function run ({ flags }, ctx) {
  const count = flags.node ? 1 : intFlag(flags, 'nodes', { min: 1, max: 1000, fallback: 1, command: name })
  const opts = nodeOptions(flags, name)
  if (opts.port && count !== 1) throw new UsageError('--port is only valid when running a single node', name)
  if (flags.persistent) opts.ephemeral = false
  const interval = statusInterval(flags, ctx.stdout, name)

  const all = []
  const status = new StatusLine(ctx.stdout, { interval, nodes: () => all })
  const log = (...args) => status.log(util.format(...args))
  const stop = interrupted(ctx.stderr)
  let signal = null
  stop.then((sig) => { signal = sig })

  log('Booting DHT nodes...')
  try {
    while (all.length < count && signal === null) {
      const node = new DHT(opts)
      const id = all.push(node) - 1
      await Promise.race([node.ready(), stop])
      if (signal !== null) break
      // like upstream, the events are watched from here on (a node made persistent by
      // --persistent usually already is)
      log('Node #' + id + ' bound to', node.address())
      node.on('ephemeral', () => log('Node #' + id + ' is ephemeral', node.address()))
      node.on('persistent', () => log('Node #' + id + ' is persistent, joining remote routing tables', node.address()))
      node.on('close', () => log('Node #' + id + ' closed'))
    }
  } catch (err) {
    ctx.stderr.write(`hyperdht-rs: a node failed to start: ${err.message}\n`)
    await destroyAll(all).catch(() => {})
    return 1
  }

  if (signal === null) {
    log('Fully started ' + count + ' Hyperswarm DHT node' + (count === 1 ? '' : 's'))
    status.start()
    await stop
  }
  status.stop()
  log('Shutting down nodes...')
  await destroyAll(all)
  return 0
}

module.exports = { name, summary: 'run DHT nodes (the default without a command)', spec, help, run }
