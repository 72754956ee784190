'use strict'
// `hyperdht-rs connect <public-key>`: an encrypted connection to a server (hyperdht
// `dht.connect(publicKey)`), with stdin sent to it and what it sends written to stdout.
const { secondsFlag } = require('./args')
const { DHT, NETWORK_FLAGS, NETWORK_HELP, parsePublicKey, keyPairOf, nodeOptions, hex, hostPort, interrupted, destroyAll } = require('./common')
const { pipeStdio } = require('./pipe')

const name = 'connect'

const spec = {
  flags: { ...NETWORK_FLAGS, seed: { value: true }, timeout: { value: true } },
  positionals: ['public-key']
}

const help = `Usage: hyperdht-rs connect <public-key> [options]

Connects to the server listening on <public-key> (64 hex or 52 z-base32 characters, e.g. what
\`hyperdht-rs serve\` prints) and pipes stdin to it and its data to stdout. The end of stdin
(Ctrl-D on a terminal) ends our side; the connection closes once the server ends too. Ctrl-C
aborts. Messages go to stderr. Exits 0 after a clean close, 1 on a connection error.

Options:
  --seed <hex|string>          client key pair seed (default: random), as \`keypair --seed\`
  --timeout <seconds>          give up if not connected within this long (default 30)

${NETWORK_HELP}`

async function run ({ flags, positionals }, ctx) {
  const key = parsePublicKey(positionals[0], name)
  const keyPair = keyPairOf(flags, name)
  const timeout = secondsFlag(flags, 'timeout', { fallback: 30, positive: true, command: name })
  const node = new DHT(nodeOptions(flags, name))
  const stop = interrupted(ctx.stderr)

  let timer = null
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeout * 1000)
  })
  // bootstrapped first: the node then knows its own NAT state when it picks a connect path
  const booted = await Promise.race([node.ready().then(() => 'ready'), late, stop])
  let first = booted
  let conn = null
  let piped = null
  if (booted === 'ready') {
    ctx.stderr.write(`Connecting to ${hex(key)}...\n`)
    conn = node.connect(key, { keyPair })
    const opened = new Promise((resolve) => {
      conn.once('open', () => resolve('open'))
      conn.once('close', () => resolve('close'))
    })
    piped = pipeStdio(conn, ctx.stdin, ctx.stdout)
    first = await Promise.race([opened, late, stop])
  }
  clearTimeout(timer)

  let code = 0
  if (first === 'open') {
    ctx.stderr.write(`Connected to ${hex(conn.remotePublicKey)} at ${hostPort({ host: conn.rawStream.remoteHost, port: conn.rawStream.remotePort })}\n`)
    const r = await Promise.race([piped, stop])
    if (typeof r === 'string') {
      code = 130 // Ctrl-C
    } else if (r.error) {
      ctx.stderr.write(`hyperdht-rs: connection error: ${r.error.message}\n`)
      code = 1
    } else {
      ctx.stderr.write(`Connection closed (${r.sent} bytes sent, ${r.received} received)\n`)
    }
  } else if (first === 'close') {
    const r = await piped
    ctx.stderr.write(`hyperdht-rs: could not connect: ${r.error ? r.error.message : 'closed'}\n`)
    code = 1
  } else if (first === 'timeout') {
    ctx.stderr.write(`hyperdht-rs: not connected after ${timeout}s\n`)
    code = 1
  } else {
    code = 130
  }
  if (conn) conn.destroy()
  await destroyAll([node]).catch(() => {})
  return code
}

module.exports = { name, summary: 'connect to a server by public key, piping stdin/stdout', spec, help, run }
