'use strict'
// Hyperswarm peer runner (the app most users put on top of hyperdht), executed in a peer namespace
// like peer.js and speaking the same lines, so cell.js runs it with `swarm: true`:
// * server: `new Hyperswarm({ dht })` on JS hyperdht or ours, joins `topic` as a server only,
//   echoes every connection, prints {"event":"listening"} once the announce is flushed and one
//   {"event":"served"} per connection when it closes;
// * client: joins `topic` as a client only (hyperswarm looks the topic up and connects with the
//   relay addresses the lookup returned), echoes `bytes` on the first connection and prints one
//   {"event":"result"} line (connected, error, openMs from join() to the connection, path, echoOk,
//   and whether the connection's remote key is the server's swarm key).
// Options (JSON): impl js|rs, role, bootstrap, topic hex, remoteKey hex (client: the server's swarm
// key), bytes, timeoutMs.
const crypto = require('crypto')
const path = require('path')
const Hyperswarm = require('hyperswarm')
const { emit } = require('./jsonl')
const { tracker, instrumentJs } = require('./path')
const exitWithStdin = require('./stdin-exit')
const { echo, echoBack } = require('./echo')

const opts = JSON.parse(process.argv[2])
const DHT = opts.impl === 'js' ? require('hyperdht') : require(path.join(__dirname, '..', '..'))
if (opts.impl === 'js') instrumentJs()

let swarm = null
exitWithStdin(opts.timeoutMs + 60_000, () => swarm && swarm.destroy())

function self (dht) {
  return { firewalled: dht.firewalled, host: dht.host, port: dht.port }
}

async function server (dht, topic) {
  const track = tracker(opts.impl, dht, 'server', null)
  swarm.on('connection', (socket) => {
    // hyperswarm hands a server its connection before it opened: the path is read at close
    const bytes = echoBack(socket)
    socket.on('error', () => {})
    socket.on('close', () => emit({ event: 'served', ...track(socket), bytes: bytes(), self: self(dht) }))
  })
  await swarm.join(topic, { server: true, client: false }).flushed()
  emit({ event: 'listening', publicKey: swarm.keyPair.publicKey.toString('hex'), self: self(dht) })
}

async function client (dht, topic) {
  const data = crypto.randomBytes(opts.bytes)
  const track = tracker(opts.impl, dht, 'client', null)
  const result = { event: 'result', connected: false, error: null, openMs: null, echoMs: null, path: null, remote: null, echoOk: false, bytesEchoed: 0 }
  const t0 = Date.now()
  try {
    const socket = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error('no connection'), { code: 'TIMEOUT' })), opts.timeoutMs)
      swarm.once('connection', (socket) => { clearTimeout(timer); resolve(socket) })
      swarm.join(topic, { server: false, client: true })
    })
    result.connected = true
    result.openMs = Date.now() - t0
    result.remoteIsServer = socket.remotePublicKey.toString('hex') === opts.remoteKey
    Object.assign(result, track(socket))
    const t1 = Date.now()
    const back = await echo(socket, data)
    result.echoMs = Date.now() - t1
    result.bytesEchoed = back.byteLength
    result.echoOk = back.equals(data)
  } catch (err) {
    result.error = err.code || err.message
  }
  emit({ ...result, self: self(dht) })
}

async function main () {
  const dht = new DHT({ bootstrap: opts.bootstrap })
  swarm = new Hyperswarm({ dht })
  const t0 = Date.now()
  await dht.fullyBootstrapped()
  emit({ event: 'bootstrapped', ms: Date.now() - t0, self: self(dht) })
  const topic = Buffer.from(opts.topic, 'hex')
  if (opts.role === 'server') await server(dht, topic)
  else await client(dht, topic)
}

main().catch((err) => {
  emit({ event: 'error', error: err.code || err.message, stack: err.stack })
  process.exit(1)
})
