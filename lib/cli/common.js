'use strict'
// What the subcommands of bin/hyperdht-rs.js share: argument shapes (topics, seeds, keys,
// host:port), the DHT node they run on, Ctrl-C handling and bounded waits.
const net = require('net')
const b4a = require('b4a')
const DHT = require('../..')
const { toConnectKey } = require('../keys')
const { UsageError, intFlag } = require('./args')

const HEX64 = /^[0-9a-fA-F]{64}$/

// --bootstrap/--host/--port mean what they mean for upstream's `hyperdht` command
const NETWORK_FLAGS = {
  bootstrap: { value: true },
  host: { value: true },
  port: { value: true }
}

const NETWORK_HELP = `Network options:
  --bootstrap <host:port,...>  bootstrap nodes, comma separated (default: the public hyperdht ones)
  --host <ip>                  IPv4 address to bind (default 0.0.0.0)
  --port <port>                UDP port to bind (default: 49737 if free, else any)`

const TOPIC_HELP = 'A <topic> of 64 hex characters is used as is; anything else is hashed: DHT.hash(Buffer.from(topic)).'

/** A topic: 64 hex characters are the 32 bytes themselves, anything else is hashed. */
function parseTopic (s, command = null) {
  if (s === '') throw new UsageError('the topic is empty', command)
  return HEX64.test(s) ? b4a.from(s, 'hex') : DHT.hash(b4a.from(s))
}

/** A key pair seed: 64 hex characters are the seed itself, anything else is hashed first. */
function parseSeed (s, command = null) {
  if (s === '' || s === undefined) throw new UsageError('--seed needs a value', command)
  return HEX64.test(s) ? b4a.from(s, 'hex') : DHT.hash(b4a.from(s))
}

function keyPairOf (flags, command = null) {
  return DHT.keyPair(flags.seed === undefined ? undefined : parseSeed(flags.seed, command))
}

/** A remote public key: 64 hex or 52 z-base32 characters (or a pear:// link), as hyperdht's connect(). */
function parsePublicKey (s, command = null) {
  try {
    return toConnectKey(s).key
  } catch {
    throw new UsageError(`not a public key (64 hex or 52 z-base32 characters): ${JSON.stringify(s)}`, command)
  }
}

function parsePort (s, what, command) {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) {
    throw new UsageError(`${what}: the port must be a number from 1 to 65535, got ${JSON.stringify(s)}`, command)
  }
  return Number(s)
}

/** `host:port` -> { host, port }. */
function parseHostPort (s, command = null) {
  const i = s.lastIndexOf(':')
  if (i <= 0) throw new UsageError(`expected host:port, got ${JSON.stringify(s)}`, command)
  return { host: s.slice(0, i), port: parsePort(s.slice(i + 1), s, command) }
}

/** `--bootstrap a:1,b:2` (dht-rpc also takes `suggestedIP@host:port`). */
function parseBootstrap (s, command = null) {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean)
  if (list.length === 0) throw new UsageError('--bootstrap needs at least one host:port', command)
  for (const entry of list) parseHostPort(entry.slice(entry.indexOf('@') + 1), command)
  return list
}

function parseIPv4 (s, name, command) {
  if (!net.isIPv4(s)) throw new UsageError(`--${name} must be an IPv4 address, got ${JSON.stringify(s)}`, command)
  return s
}

/** DHT constructor options from --bootstrap/--host/--port, as upstream's bin.js builds them. */
function nodeOptions (flags, command = null) {
  const port = intFlag(flags, 'port', { max: 65535, fallback: 0, command })
  const opts = { port, anyPort: !port }
  if (flags.host !== undefined) opts.host = parseIPv4(flags.host, 'host', command)
  if (flags.bootstrap !== undefined) opts.bootstrap = parseBootstrap(flags.bootstrap, command)
  return opts
}

function hex (buf) {
  return b4a.toString(buf, 'hex')
}

function hostPort (a) {
  return a ? a.host + ':' + a.port : '-'
}

/** Rejects with `message` if `promise` is not settled within `ms`. */
function withDeadline (promise, ms, message) {
  let timer = null
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Resolves with the signal's name on the first SIGINT/SIGTERM (Ctrl-C). A second one while the
 * command shuts down exits at once (130), so a stuck shutdown never needs kill -9.
 */
function interrupted (stderr = process.stderr) {
  return new Promise((resolve) => {
    let seen = false
    const on = (sig) => {
      if (seen) {
        stderr.write(`\n${sig} again, exiting now\n`)
        process.exit(130)
      }
      seen = true
      resolve(sig)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

/** Destroys the nodes, in reverse, bounded in time (exit code 1 if they do not close). */
async function destroyAll (nodes, ms = 10000) {
  const closing = Promise.all(nodes.slice().reverse().map((n) => n.destroy()))
  await withDeadline(closing, ms, `nodes did not close within ${ms / 1000}s`)
}

module.exports = {
  DHT,
  NETWORK_FLAGS,
  NETWORK_HELP,
  TOPIC_HELP,
  parseTopic,
  parseSeed,
  keyPairOf,
  parsePublicKey,
  parseHostPort,
  parseBootstrap,
  parseIPv4,
  nodeOptions,
  hex,
  hostPort,
  withDeadline,
  interrupted,
  destroyAll
}

const TIMEOUT_HELP = '  --timeout <seconds>          give up after this long (default 30)'

/**
 * Runs `work(out)` for a one-shot command: Ctrl-C or --timeout end it early (exit 130 / 1); the
 * nodes are destroyed either way. `out` = { stdout, stderr } that go quiet once it is over, so
 * work cut short prints nothing about its own failure.
 */
async function oneShot (ctx, nodes, seconds, work) {
  let over = false
  const gate = (stream) => ({ write: (data) => over || stream.write(data) })
  const out = { stdout: gate(ctx.stdout), stderr: gate(ctx.stderr) }
  let timer = null
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), seconds * 1000)
  })
  const stop = interrupted(ctx.stderr)
  try {
    const done = work(out).then((code) => ({ code }))
    const r = await Promise.race([done, timedOut, stop])
    over = true
    if (r === 'timeout') {
      ctx.stderr.write(`hyperdht-rs: timed out after ${seconds}s\n`)
      return 1
    }
    if (typeof r === 'string') return 130 // a signal
    return r.code
  } finally {
    over = true
    clearTimeout(timer)
    await destroyAll(nodes).catch(() => {})
  }
}

module.exports.TIMEOUT_HELP = TIMEOUT_HELP
module.exports.oneShot = oneShot
