'use strict'
// The JS half of bench/soak.js (a child process): JS hyperdht bootstrap + persistent nodes, a
// JS echo server, and a JS client dialling the Rust server (aborting at every step) once told
// its key. Reports { bootstrapPort, serverKey } to the parent; stops dialling and exits when told to.
const DHT = require('hyperdht')

async function main () {
  const boot = DHT.bootstrapper(20000 + Math.floor(Math.random() * 30000), '127.0.0.1', { host: '127.0.0.1' })
  await boot.fullyBootstrapped()
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  const nodes = [boot]
  for (let i = 0; i < 3; i++) {
    const n = new DHT({ bootstrap, host: '127.0.0.1', port: 0, ephemeral: false, firewalled: false })
    nodes.push(n)
    await n.fullyBootstrapped()
  }
  const serverNode = new DHT({ bootstrap, host: '127.0.0.1', port: 0, ephemeral: false, firewalled: false })
  nodes.push(serverNode)
  await serverNode.fullyBootstrapped()
  const server = serverNode.createServer((conn) => {
    conn.on('error', () => {})
    conn.on('data', (d) => conn.write(d))
    conn.on('end', () => conn.end())
  })
  await server.listen()
  const client = new DHT({ bootstrap, host: '127.0.0.1', port: 0 })
  nodes.push(client)
  await client.fullyBootstrapped()

  let stop = false
  let dialing = null
  process.on('message', async (m) => {
    if (m.rustServer) dialing = dialLoop(Buffer.from(m.rustServer, 'hex'))
    if (m.stopDialing) {
      stop = true
      await dialing
      process.send({ stoppedDialing: true })
    }
    if (m.exit) {
      stop = true
      for (const n of nodes.reverse()) await n.destroy().catch(() => {})
      process.exit(0)
    }
  })
  async function dialLoop (key) {
    for (let step = 0; !stop; step++) {
      const s = client.connect(key)
      s.on('error', () => {})
      const closed = new Promise((resolve) => s.once('close', resolve))
      if (step % 3 === 0) s.destroy()
      else if (step % 3 === 1) s.once('open', () => s.destroy())
      else { s.end('hello'); s.resume() }
      await closed
    }
  }
  process.send({ bootstrapPort: boot.address().port, serverKey: server.publicKey.toString('hex') })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
