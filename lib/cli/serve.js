'use strict'
// `hyperdht-rs serve`: a server (hyperdht `dht.createServer().listen(keyPair)`) that echoes what
// every connection sends, or with --pipe connects one connection to stdin/stdout.
const util = require('util')
const { DHT, NETWORK_FLAGS, NETWORK_HELP, keyPairOf, nodeOptions, hex, hostPort, interrupted, destroyAll } = require('./common')
const { StatusLine, statusInterval, STATUS_HELP } = require('./status')
const { pipeStdio } = require('./pipe')

const name = 'serve'

const spec = {
  flags: { ...NETWORK_FLAGS, seed: { value: true }, pipe: { value: false }, status: { value: true } },
  positionals: []
}

const help = `Usage: hyperdht-rs serve [options]

Listens for encrypted connections on a key pair and prints its public key; clients connect with
\`hyperdht-rs connect <public-key>\` (or hyperdht's dht.connect). By default every connection is
echoed back and the server runs until Ctrl-C. With --pipe, the first connection is joined to
stdin/stdout (later ones are refused while it is open), the server exits when it closes, and
messages go to stderr.

Options:
  --seed <hex|string>          key pair seed for a stable public key: 64 hex characters as is,
                               else hashed (default: a random key pair)
  --pipe                       pipe one connection to stdin/stdout instead of echoing
${STATUS_HELP}; never with --pipe

${NETWORK_HELP}`

async function run ({ flags }, ctx) {
  const keyPair = keyPairOf(flags, name)
  const pipe = !!flags.pipe
  const out = pipe ? ctx.stderr : ctx.stdout
  const interval = pipe ? 0 : statusInterval(flags, ctx.stdout, name)
  const node = new DHT(nodeOptions(flags, name))
  const open = new Set()
  const status = new StatusLine(out, { interval, nodes: () => [node], connections: () => open.size })
  const log = (...args) => status.log(util.format(...args))
  const stop = interrupted(ctx.stderr)

  let piping = null
  let onpiping = null
  const firstPipe = new Promise((resolve) => { onpiping = resolve })
  const server = node.createServer((conn) => {
    const from = hostPort({ host: conn.rawStream.remoteHost, port: conn.rawStream.remotePort })
    if (pipe && piping) {
      log(`Refused a connection from ${from}: already piping one`)
      conn.destroy()
      return
    }
    open.add(conn)
    log(`Connection from ${from} (public key ${hex(conn.remotePublicKey)})`)
    conn.once('close', () => open.delete(conn))
    if (pipe) {
      piping = pipeStdio(conn, ctx.stdin, ctx.stdout)
      onpiping({ done: piping })
      return
    }
    let echoed = 0
    let error = null
    conn.on('data', (data) => {
      echoed += data.byteLength
      if (!conn.write(data)) {
        conn.pause()
        conn.once('drain', () => conn.resume())
      }
    })
    conn.on('end', () => conn.end())
    conn.on('error', (err) => { error = err })
    conn.on('close', () => log(`Connection from ${from} closed${error ? ': ' + error.message : ''} (${echoed} bytes echoed)`))
  })

  let code = 0
  try {
    const listening = await Promise.race([server.listen(keyPair).then(() => true), stop.then(() => false)])
    if (listening) {
      const pk = hex(keyPair.publicKey)
      log(`Listening on public key ${pk}`)
      log(`Connect with: hyperdht-rs connect ${pk}`)
      status.start()
      if (pipe) {
        const r = await Promise.race([firstPipe, stop])
        if (typeof r !== 'string') {
          const done = await Promise.race([r.done, stop])
          if (typeof done === 'string') {
            code = 130 // Ctrl-C while piping
          } else if (done.error) {
            ctx.stderr.write(`hyperdht-rs: connection error: ${done.error.message}\n`)
            code = 1
          } else {
            log(`Connection closed (${done.sent} bytes sent, ${done.received} received)`)
          }
        }
      } else {
        await stop
      }
    }
  } catch (err) {
    ctx.stderr.write(`hyperdht-rs: serving failed: ${err.message}\n`)
    code = 1
  }
  status.stop()
  for (const conn of open) conn.destroy()
  await destroyAll([node]).catch((err) => {
    ctx.stderr.write(`hyperdht-rs: ${err.message}\n`)
    code = code || 1
  })
  return code
}

module.exports = { name, summary: 'accept encrypted connections: echo, or --pipe stdin/stdout', spec, help, run }
