'use strict'
// `hyperdht-rs bootstrap` / `hyperdht-rs --bootstrap --host <ip>`: a bootstrap node, with the
// flags and output lines of upstream's `hyperdht --bootstrap` (hyperdht/bin.js startBootstrapNode).
const util = require('util')
const { intFlag, UsageError } = require('./args')
const { DHT, parseIPv4, interrupted, destroyAll } = require('./common')
const { StatusLine, statusInterval, STATUS_HELP } = require('./status')

const name = 'bootstrap'
const DEFAULT_PORT = 49737

const spec = {
  flags: {
    bootstrap: { value: true, optional: true }, // upstream's spelling: --bootstrap with no list
    host: { value: true },
    port: { value: true },
    status: { value: true }
  },
  positionals: []
}

const help = `Usage: hyperdht-rs bootstrap --host <ip> [--port <port>]
       hyperdht-rs --bootstrap --host <ip> [--port <port>]    (upstream's spelling)

Runs a bootstrap node until Ctrl-C: persistent, not firewalled, on a fixed port, starting a new
network (it bootstraps from nobody). Other nodes join with --bootstrap <ip>:<port>.

Options:
  --host <ip>        the IPv4 address other nodes reach this one at (required; not 0.0.0.0)
  --port <port>      UDP port (default ${DEFAULT_PORT})
${STATUS_HELP}`

async function run ({ flags }, ctx) {
  if (flags.bootstrap) throw new UsageError('bootstrap mode takes no --bootstrap list (it starts a network)', name)
  if (flags.host === undefined || flags.host === '') throw new UsageError('You need to specify --host <node ip>', name)
  const host = parseIPv4(flags.host, 'host', name)
  if (host === '0.0.0.0') throw new UsageError('--host must be the address other nodes reach this one at, not 0.0.0.0', name)
  const port = intFlag(flags, 'port', { max: 65535, fallback: 0, command: name }) || DEFAULT_PORT
  const interval = statusInterval(flags, ctx.stdout, name)

  let node = null
  const status = new StatusLine(ctx.stdout, { interval, nodes: () => (node ? [node] : []) })
  const log = (...args) => status.log(util.format(...args))
  const stop = interrupted(ctx.stderr)

  log('Starting DHT bootstrap node...')
  node = DHT.bootstrapper(port, host)
  node.on('close', () => log('Bootstrap node closed'))
  try {
    const started = await Promise.race([node.ready().then(() => true), stop.then(() => false)])
    if (started) {
      log('Bootstrap node bound to', node.address())
      log('Fully started Hyperswarm DHT bootstrap node')
      status.start()
      await stop
    }
  } catch (err) {
    ctx.stderr.write(`hyperdht-rs: the bootstrap node failed to start: ${err.message}\n`)
    await destroyAll([node]).catch(() => {})
    return 1
  }
  status.stop()
  await destroyAll([node])
  return 0
}

module.exports = { name, summary: 'run a bootstrap node (upstream: --bootstrap --host <ip>)', spec, help, run }
