'use strict'
// A relayed connection (hyperdht `relayThrough` + the npm blind-relay server on
// `createRawStream({framed: true})`): JS hyperdht vs ours, every node of one kind, alternating,
// each run a fresh child (4-node testnet, relay node, server and client in the same process;
// neither end may punch, so the connection stays relayed). The relay node's raw streams carry
// every byte twice (in from one end, out to the other), so this is where raw-stream latency and
// throughput show. Reports time to open, echo msg/s and RTT p50/p99 of `bytes`-byte messages for
// `seconds`, and the MB/s of a `mib` MiB transfer.
// Usage: node bench/relay.js [runs=3] [bytes=32] [seconds=2] [mib=64]   (re-runs itself in a netns)
const { once } = require('events')
const RelayServer = require('blind-relay').Server
const { load, echoRounds, alternate, entry } = require('./common')

async function relayedPair (impl) {
  const { DHT, createTestnet } = load(impl)
  const testnet = await createTestnet(4)
  const opts = { quickFirewall: false, ephemeral: true }
  const [r, s, c] = [0, 1, 2].map(() => testnet.createNode(opts))
  await Promise.all([r, s, c].map((n) => n.fullyBootstrapped()))
  const relay = new RelayServer({ createStream: (o) => r.createRawStream({ ...o, framed: true }) })
  const relayServer = r.createServer((socket) => {
    relay.accept(socket, { id: socket.remotePublicKey }).on('error', () => {})
  })
  await relayServer.listen()
  let onconn = null
  const server = s.createServer({ holepunch: () => false, shareLocalAddress: false, relayThrough: relayServer.publicKey }, (conn) => {
    conn.on('error', () => {})
    onconn(conn)
  })
  await server.listen(DHT.keyPair())
  const destroy = async () => {
    await server.close()
    relay.close()
    await testnet.destroy()
    for (const n of [r, s, c]) await n.destroy()
  }
  const connect = (handler) => {
    onconn = handler
    const conn = c.connect(server.publicKey, { holepunch: () => false, fastOpen: false, localConnection: false })
    conn.on('error', () => {})
    return conn
  }
  return { relay, connect, destroy }
}

async function child (impl, bytes, seconds, mib) {
  const p = await relayedPair(impl)
  const t0 = process.hrtime.bigint()
  const c = p.connect((conn) => conn.on('data', (d) => conn.write(d)))
  await once(c, 'open')
  const openMs = Number(process.hrtime.bigint() - t0) / 1e6
  if (p.relay.stats.streams.active !== 2) throw new Error('the connection is not relayed')
  const echo = await echoRounds(c, bytes, seconds, 500, 200)
  c.destroy()

  const total = mib * 1024 * 1024
  let got = 0
  let done
  const finished = new Promise((resolve) => { done = resolve })
  const b = p.connect((conn) => conn.on('data', (d) => { got += d.length; if (got >= total) done() }))
  await once(b, 'open')
  const chunk = Buffer.alloc(64 * 1024, 0xab)
  const b0 = process.hrtime.bigint()
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!b.write(chunk)) await once(b, 'drain')
  }
  await finished
  const mbps = total / 1e6 / (Number(process.hrtime.bigint() - b0) / 1e9)
  b.destroy()
  await p.destroy()
  return { openMs, ...echo, mbps }
}

function main () {
  const runs = Number(process.argv[2]) || 3
  const bytes = Number(process.argv[3]) || 32
  const seconds = Number(process.argv[4]) || 2
  const mib = Number(process.argv[5]) || 64
  const res = alternate(__filename, runs, [bytes, seconds, mib])
  const col = (impl, k, d) => res[impl].map((x) => x[k].toFixed(d)).join(', ')
  console.log(`\nrelayed connection through a blind relay, every node of one kind, one process (${runs} runs each, alternating)`)
  console.log('| metric | JS | ours |\n|---|---|---|')
  console.log(`| connect to open, ms | ${col('js', 'openMs', 1)} | ${col('rs', 'openMs', 1)} |`)
  console.log(`| ${bytes}-byte echo msg/s | ${col('js', 'perSec', 0)} | ${col('rs', 'perSec', 0)} |`)
  console.log(`| RTT p50 µs | ${col('js', 'p50', 1)} | ${col('rs', 'p50', 1)} |`)
  console.log(`| RTT p99 µs | ${col('js', 'p99', 1)} | ${col('rs', 'p99', 1)} |`)
  console.log(`| ${mib} MiB, MB/s | ${col('js', 'mbps', 0)} | ${col('rs', 'mbps', 0)} |`)
}

entry(__filename, child, main)
