// Interop peer for crates/rpc/tests/interop_js.rs: runs real JS dht-rpc nodes and answers
// line-delimited JSON commands on stdin ({id, op, ...}) with {id, ok, result|error} on stdout.
// argv[2] = node_modules directory holding dht-rpc.
'use strict'
const path = require('path')
const readline = require('readline')

const modules = process.argv[2]
const DHT = require(path.join(modules, 'dht-rpc'))
const HyperDHT = require(path.join(modules, 'hyperdht'))
const b4a = require(path.join(modules, 'b4a'))

const nodes = new Map()
const hex = (b) => (b ? b4a.toString(b, 'hex') : null)

function state(dht) {
  const server = dht.io.serverSocket ? dht.io.serverSocket.address() : null
  const client = dht.io.clientSocket ? dht.io.clientSocket.address() : null
  return {
    id: hex(dht.id),
    tableId: hex(dht.table.id),
    ephemeral: dht.ephemeral,
    firewalled: dht.firewalled,
    host: dht.host,
    port: dht.port,
    serverPort: server && server.port,
    clientPort: client && client.port,
    remoteAddress: dht.remoteAddress(),
    requestsTotal: dht.stats.requests.total,
    commandsTx: [dht.stats.commands.ping.tx, dht.stats.commands.pingNat.tx, dht.stats.commands.findNode.tx, dht.stats.commands.downHint.tx],
    table: dht.toArray()
  }
}

function get(name) {
  const n = nodes.get(name)
  if (!n) throw new Error('no node ' + name)
  return n
}

const ops = {
  async bootstrapper({ name, port, bootstrap }) {
    const dht = DHT.bootstrapper(port, '127.0.0.1', { bootstrap: bootstrap || [] })
    nodes.set(name, dht)
    await dht.fullyBootstrapped()
    return state(dht)
  },
  async node({ name, bootstrap, ephemeral, port }) {
    const opts = { bootstrap, host: '127.0.0.1' }
    if (typeof ephemeral === 'boolean') opts.ephemeral = ephemeral
    if (port) opts.port = port
    const dht = new DHT(opts)
    nodes.set(name, dht)
    await dht.fullyBootstrapped()
    return state(dht)
  },
  // a full hyperdht node (dht-rpc underneath) on the same network
  async hyperdht({ name, bootstrap, ephemeral, bootstrapperPort }) {
    const dht = bootstrapperPort
      ? HyperDHT.bootstrapper(bootstrapperPort, '127.0.0.1', { bootstrap: bootstrap || [] })
      : new HyperDHT({ bootstrap, ephemeral, host: '127.0.0.1' })
    nodes.set(name, dht)
    await dht.fullyBootstrapped()
    return state(dht)
  },
  async immutablePut({ name, value }) {
    const res = await get(name).immutablePut(b4a.from(value, 'hex'))
    return { hash: hex(res.hash) }
  },
  async immutableGet({ name, target }) {
    const res = await get(name).immutableGet(b4a.from(target, 'hex'))
    return { value: res ? hex(res.value) : null }
  },
  async state({ name }) {
    return state(get(name))
  },
  async ping({ name, host, port }) {
    const res = await get(name).ping({ host, port })
    return { from: res.from, id: hex(res.from.id), to: res.to }
  },
  async delayedPing({ name, host, port, delay }) {
    const start = Date.now()
    const res = await get(name).delayedPing({ host, port }, delay)
    return { id: hex(res.from.id), elapsed: Date.now() - start }
  },
  async findNode({ name, target }) {
    const q = get(name).findNode(b4a.from(target, 'hex'))
    const replies = []
    for await (const data of q) {
      replies.push({ from: { host: data.from.host, port: data.from.port }, id: hex(data.from.id) })
    }
    return {
      replies,
      closest: q.closestReplies.map((r) => ({ host: r.from.host, port: r.from.port, id: hex(r.from.id) }))
    }
  },
  async refresh({ name }) {
    const dht = get(name)
    await dht._backgroundQuery(dht.table.id).finished()
    return state(dht)
  },
  async destroy({ name }) {
    await get(name).destroy()
    nodes.delete(name)
    return true
  },
  async exit() {
    for (const dht of nodes.values()) await dht.destroy()
    setImmediate(() => process.exit(0))
    return true
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let msg
  try {
    msg = JSON.parse(line)
  } catch {
    return
  }
  try {
    const result = await ops[msg.op](msg)
    process.stdout.write(JSON.stringify({ id: msg.id, ok: true, result }) + '\n')
  } catch (err) {
    process.stdout.write(JSON.stringify({ id: msg.id, ok: false, error: String(err && err.stack) }) + '\n')
  }
})
rl.on('close', () => process.exit(0))
