'use strict'
// Issue 14 #1 end to end: a peer that ignores our receive window while the JS reader is paused
// cannot make us buffer without bound. A raw UDX stream on a Rust node is connected to a plain UDP
// socket that plays the hostile peer: it sends 64 MiB of in-order DATA (60 KiB datagrams) and never
// looks at our window. Nobody reads the stream. Before the bound every byte was kept (RSS +64 MiB);
// now UDX keeps its window (4 MiB + slack) and JS at most what the read flow lets through (4 MiB).
const test = require('node:test')
const assert = require('node:assert')
const { spawn } = require('child_process')
const { once } = require('events')
const { RS, bootstrapper, cleanup, nothingKeepsNodeAlive } = require('./helpers')

const PAYLOAD = 60 * 1024
const OFFERED = 64 * 1024 * 1024

// the hostile peer runs in a child process, so its own send buffers don't count against us
const PEER = `
const { spawn } = require('child_process')
const { once } = require('events')
const [remoteId, port, payloadSize, offered] = process.argv.slice(1).map(Number)
const sock = dgram.createSocket('udp4')
let acks = 0
sock.on('message', () => { acks++ })
sock.bind(0, '127.0.0.1', async () => {
  process.send({ port: sock.address().port })
  await new Promise((resolve) => process.once('message', resolve))
  const payload = Buffer.alloc(payloadSize, 0xab)
  let seq = 0
  for (let sent = 0; sent < offered; sent += payloadSize) {
    const h = Buffer.alloc(20)
    h[0] = 0xff; h[1] = 0x01; h[2] = 0x01 // DATA
    h.writeUInt32LE(remoteId, 4)
    h.writeUInt32LE(4 * 1024 * 1024, 8)
    h.writeUInt32LE(seq++, 12)
    await new Promise((resolve) => sock.send([h, payload], port, '127.0.0.1', resolve))
    if (seq % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  // wait until the stream stops acknowledging
  let last = -1
  while (acks !== last) { last = acks; await new Promise((resolve) => setTimeout(resolve, 300)) }
  process.send({ acks, seq })
  sock.close()
})
`

test('a peer ignoring our window cannot grow memory while the reader is paused', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const node = await bootstrapper(RS)
  nodes.push(node)
  const raw = node.createRawStream()
  raw.on('error', () => {})
  const args = [raw.id, node.address().port, PAYLOAD, OFFERED].map(String)
  const child = spawn(process.execPath, ['-e', PEER, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.after(() => child.kill())
  const [{ port }] = await once(child, 'message')
  raw.connect(node.socket, 4242, port, '127.0.0.1')
  // nobody reads `raw`
  const before = process.memoryUsage().rss
  child.send('go')
  const [{ acks, seq }] = await once(child, 'message')
  const grown = (process.memoryUsage().rss - before) / 1048576
  assert.ok(acks > 0, 'the stream took the first packets')
  assert.ok(seq * PAYLOAD >= OFFERED)
  t.diagnostic(`RSS grew ${grown.toFixed(1)} MiB for 64 MiB offered (${acks} acks)`)
  assert.ok(grown < 24, `RSS grew ${grown.toFixed(1)} MiB for 64 MiB offered`)
  raw.destroy()
})

nothingKeepsNodeAlive(test)
