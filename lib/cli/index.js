'use strict'
// bin/hyperdht-rs.js: picks the command and runs it. Without a command the arguments mean what
// they mean to upstream's `hyperdht` command (hyperdht/bin.js): `--bootstrap` with no list runs a
// bootstrap node, anything else runs DHT nodes.
const { parse, UsageError } = require('./args')
const { TOPIC_HELP } = require('./common')

const COMMANDS = ['nodes', 'bootstrap', 'lookup', 'announce', 'ping', 'keypair', 'connect', 'serve', 'nat']

function load (name) {
  return require('./' + name)
}

function topHelp () {
  const rows = COMMANDS.map((n) => `  ${n.padEnd(10)} ${load(n).summary}`)
  return `Usage: hyperdht-rs [command] [options]

HyperDHT from the command line (hyperdht-rs, a Rust HyperDHT). Without a command it takes the
flags of JS hyperdht's \`hyperdht\` command:
  hyperdht-rs [--bootstrap <host:port,...>] [--nodes <n> | --node] [--host <ip>] [--port <port>]
                                            run DHT nodes until Ctrl-C
  hyperdht-rs --bootstrap --host <ip> [--port <port>]
                                            run a bootstrap node (default port 49737)

Commands:
${rows.join('\n')}

\`hyperdht-rs <command> --help\` explains a command. ${TOPIC_HELP}
Exit codes: 0 done, 1 failed, 2 bad arguments, 130 interrupted.`
}

/** Runs the command line `argv`; resolves with the exit code. `io` = { stdin, stdout, stderr }. */
async function main (argv, io) {
  let command = null
  try {
    const first = argv[0]
    if (first === undefined || first.startsWith('-')) {
      if (first === '-h' || first === '--help') {
        io.stdout.write(topHelp() + '\n')
        return 0
      }
      if (first === '--version') {
        io.stdout.write(require('../../package.json').version + '\n')
        return 0
      }
      return await runUpstream(argv, io)
    }
    if (first === 'help') {
      const about = argv[1]
      if (about === undefined) io.stdout.write(topHelp() + '\n')
      else if (COMMANDS.includes(about)) io.stdout.write(load(about).help + '\n')
      else throw new UsageError(`unknown command ${JSON.stringify(about)}`)
      return 0
    }
    if (!COMMANDS.includes(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}`)
    command = first
    const cmd = load(first)
    const args = parse(argv.slice(1), cmd.spec, first)
    if (args.help) {
      io.stdout.write(cmd.help + '\n')
      return 0
    }
    return await cmd.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      const which = err.command || command
      io.stderr.write(`hyperdht-rs${which ? ' ' + which : ''}: ${err.message}\n`)
      io.stderr.write(`Run 'hyperdht-rs ${which ? which + ' ' : ''}--help' for usage.\n`)
      return 2
    }
    io.stderr.write(`hyperdht-rs${command ? ' ' + command : ''}: ${err.message}\n`)
    return 1
  }
}

// upstream's flags: `--bootstrap` alone (or followed by another flag) = bootstrap-node mode
async function runUpstream (argv, io) {
  const nodes = load('nodes')
  const bootstrap = load('bootstrap')
  const spec = { flags: { ...nodes.spec.flags, bootstrap: { value: true, optional: true } }, positionals: [] }
  // lenient like upstream's bin, which ignores flags it does not know (wrappers pass extra ones)
  const args = parse(argv, spec, null, { lenient: true })
  for (const f of args.ignored) io.stderr.write(`hyperdht-rs: ignoring unknown option ${f}\n`)
  if (args.help) {
    io.stdout.write(topHelp() + '\n')
    return 0
  }
  if (args.flags.bootstrap === '') {
    for (const f of ['nodes', 'node', 'persistent']) {
      if (args.flags[f] !== undefined) throw new UsageError(`--${f} does not go with --bootstrap (bootstrap-node mode)`, 'bootstrap')
    }
    return bootstrap.run(args, io)
  }
  return nodes.run(args, io)
}

module.exports = { main, COMMANDS }
