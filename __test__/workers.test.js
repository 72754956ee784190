'use strict'
// The addon in worker threads (each a Node environment with its own event loop, as in apps that
// move networking off the main thread): nodes made in workers connect to a server on the main
// thread and echo, and a worker that ends cleanly, one that calls process.exit() with its
// connection open and one terminated mid-transfer all leave the main thread's node working, and
// take their nodes with them (as udx-native's sockets close with their environment): the
// worker's port is free again.
const test = require('node:test')
const assert = require('node:assert')
const path = require('path')
const { once } = require('node:events')
const dgram = require('dgram')
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads')

if (!isMainThread) {
  runWorker().catch((err) => parentPort.postMessage('fail ' + (err.code || err.message)))
} else {
  const { RS, mixedNet, echoServer, nothingKeepsNodeAlive } = require('./helpers')

  test('workers: nodes in worker threads connect, echo and go away cleanly, by exit() or by terminate()', { timeout: 60000 }, async (t) => {
    const net = await mixedNet(t)
    const node = net.client(RS)
    await node.fullyBootstrapped()
    const srv = echoServer(node)
    t.after(() => srv.close())
    await srv.listen(RS.keyPair())
    const bootstrap = node.bootstrapNodes.map((a) => `${a.host}:${a.port}`)
    const key = srv.publicKey.toString('hex')
    for (let round = 0; round < 2; round++) {
      const runs = ['clean', 'exit', 'terminate'].map(async (mode) => {
        const w = new Worker(__filename, { workerData: { bootstrap, key, mode } })
        const said = []
        let port = 0
        w.on('message', (m) => {
          if (typeof m === 'number') return (port = m)
          said.push(m)
          if (mode === 'terminate' && m === 'open') w.terminate()
        })
        const [code] = await once(w, 'exit')
        return { mode, code, said, portFree: await bindable(port) }
      })
      const got = await Promise.all(runs)
      assert.deepStrictEqual(got, [
        { mode: 'clean', code: 0, said: ['open', 'echo hello', 'closed'], portFree: true },
        { mode: 'exit', code: 0, said: ['open', 'echo hello'], portFree: true },
        { mode: 'terminate', code: 1, said: ['open'], portFree: true }
      ], 'round ' + round)
    }
    // the main thread's node still serves and connects
    const c = node.connect(srv.publicKey)
    c.end('still here')
    const [d] = await once(c, 'data')
    assert.strictEqual(d.toString(), 'still here')
    c.destroy()
  })

  nothingKeepsNodeAlive(test)
}

/** Whether a UDP socket can bind 127.0.0.1:`port` (polled up to 2 s: a node's socket closes on the addon's threads just after its environment went). */
async function bindable (port) {
  const until = Date.now() + 2000
  while (true) {
    const s = dgram.createSocket('udp4')
    const ok = await new Promise((resolve) => {
      s.once('error', () => resolve(false))
      s.bind(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise((resolve) => s.close(resolve))
    if (ok || Date.now() > until) return ok
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function runWorker () {
  const DHT = require(path.join(__dirname, '..'))
  const { bootstrap, key, mode } = workerData
  const dht = new DHT({ bootstrap, host: '127.0.0.1' })
  await dht.ready()
  parentPort.postMessage(dht.address().port)
  const c = dht.connect(Buffer.from(key, 'hex'))
  c.on('error', (err) => parentPort.postMessage('error ' + err.code))
  await once(c, 'open')
  parentPort.postMessage('open')
  if (mode === 'terminate') {
    // writes in flight when the main thread terminates this worker
    for (let i = 0; i < 64; i++) c.write(Buffer.alloc(64 * 1024, i))
    return
  }
  c.write('hello')
  const [data] = await once(c, 'data')
  parentPort.postMessage('echo ' + data)
  if (mode === 'exit') process.exit(0) // the connection and the node still open
  c.end()
  await new Promise((resolve) => c.once('close', resolve))
  await dht.destroy()
  parentPort.postMessage('closed')
}
