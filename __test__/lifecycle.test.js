'use strict'
// Connection lifecycle the way apps use it, compared event for event with JS hyperdht: listeners
// attached right after connect(), write()/end() before open, once('open'), destroy at each step.
// Every scenario runs for each client × server pairing (JS↔JS is the reference, in the same run)
// and the recorded sequences must equal the reference's.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const PAIRS = [[JS, JS, 'JS->JS'], [RS, RS, 'RS->RS'], [RS, JS, 'RS->JS'], [JS, RS, 'JS->RS']]

/** Records a stream's events as names (data as `data:<text>`, errors as `error:<code>`). */
function record (stream, log, side) {
  for (const ev of ['connect', 'open', 'end', 'finish', 'close']) {
    stream.on(ev, () => log.push(`${side} ${ev}`))
  }
  stream.on('data', (d) => log.push(`${side} data:${d}`))
  stream.on('error', (e) => log.push(`${side} error:${e.code || e.message}`))
}

/**
 * A log in a form that is exact where the order is determined and free where it is a race in JS
 * too: `finish` (our end of the writable side) is compared by count, as the remote's data/end can
 * arrive before or after it; every other event keeps its place.
 */
function canonical (log) {
  return {
    events: log.filter((e) => !e.endsWith(' finish')),
    finished: log.filter((e) => e.endsWith(' finish')).length
  }
}

/** Resolves on `close` (events.once would reject on an `error` before it). */
function closed (stream) {
  return new Promise((resolve) => stream.on('close', resolve))
}

/** Runs `scenario(client, server, logs)` on one pairing; resolves with the client and server logs. */
async function run (t, C, S, scenario) {
  const net = await mixedNet(t)
  const sNode = net.client(S)
  const cNode = net.client(C)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const client = []
  const server = []
  // every scenario has the server accept exactly one connection (also when the client destroys
  // it at once: JS servers emit it before the client opens); wait until it closed
  let serverClosed = null
  const accepted = new Promise((resolve) => { serverClosed = resolve })
  const srv = sNode.createServer((conn) => {
    server.push('connection')
    record(conn, server, 's')
    conn.on('close', serverClosed)
    if (scenario.onServer) scenario.onServer(conn)
  })
  await srv.listen(S.keyPair())
  t.after(() => srv.close())
  const extra = await scenario.client(cNode, srv.publicKey, client, sNode)
  await accepted
  return { client, server, extra }
}

const scenarios = {
  'write and end before open, server echoes then ends': {
    onServer (conn) {
      conn.on('data', (d) => conn.write(d))
      conn.once('end', () => conn.end())
    },
    async client (node, key, log) {
      const s = node.connect(key)
      record(s, log, 'c')
      s.write('hello')
      s.end()
      const opened = s.opened
      await closed(s)
      return { opened: await opened, hash: s.handshakeHash !== null, keepAlive: s.keepAlive, rawBytesRead: s.rawBytesRead, rawBytesWritten: s.rawBytesWritten }
    }
  },
  'once(open) then write, both sides end': {
    onServer (conn) {
      conn.once('data', (d) => conn.end('re:' + d))
      conn.once('end', () => conn.end())
    },
    async client (node, key, log) {
      const s = node.connect(key)
      record(s, log, 'c')
      const seen = {}
      s.once('open', () => {
        seen.hashAtOpen = s.handshakeHash !== null && s.rawStream !== null && s.remotePublicKey.equals(key)
        s.write('ping')
      })
      s.once('data', () => s.end())
      await closed(s)
      return seen
    }
  },
  'client times out on a silent server (setTimeout before open): both ends close': {
    onServer (conn) {},
    async client (node, key, log) {
      const s = node.connect(key)
      record(s, log, 'c')
      s.setTimeout(300)
      await closed(s)
      return { timeout: s.timeout }
    }
  },
  'rawStream.destroy() after open: the client closes quietly, the server sees ECONNRESET': {
    onServer (conn) {},
    async client (node, key, log) {
      const s = node.connect(key)
      record(s, log, 'c')
      await once(s, 'open')
      const raw = s.rawStream
      raw.destroy()
      await closed(s)
      return { destroyed: raw.destroyed }
    }
  },
  'destroy on open': {
    onServer (conn) {},
    async client (node, key, log) {
      const s = node.connect(key)
      record(s, log, 'c')
      s.once('open', () => s.destroy())
      s.on('error', () => {})
      await closed(s)
      return { opened: await s.opened }
    }
  }
}

for (const [name, scenario] of Object.entries(scenarios)) {
  test(`lifecycle: ${name} (every pairing equals JS->JS)`, async (t) => {
    let reference = null
    for (const [C, S, pair] of PAIRS) {
      const got = await run(t, C, S, scenario)
      if (reference === null) {
        reference = got
        continue
      }
      assert.deepStrictEqual(canonical(got.client), canonical(reference.client), `${pair}: client events`)
      assert.deepStrictEqual(canonical(got.server), canonical(reference.server), `${pair}: server events`)
      assert.deepStrictEqual(got.extra, reference.extra, `${pair}: client state`)
    }
  })
}

// A server that destroys a connection as it arrives: whether the client saw `open` first is a
// race in JS too (a JS server resets before it replies, ours right after), so every pairing is
// checked for what must hold: ECONNRESET then close, `connect` right before any `open`, no data.
test('lifecycle: a connection the server destroys on arrival fails with ECONNRESET (every pairing)', async (t) => {
  for (const [C, S, pair] of PAIRS) {
    const { client } = await run(t, C, S, {
      onServer (conn) {
        conn.on('error', () => {})
        conn.destroy(new Error('go away'))
      },
      async client (node, key, log) {
        const s = node.connect(key)
        record(s, log, 'c')
        await closed(s)
      }
    })
    const tail = client.slice(-2)
    assert.deepStrictEqual(tail, ['c error:ECONNRESET', 'c close'], pair)
    assert.ok([0, 2].includes(client.length - 2), `${pair}: ${client}`)
    if (client.length === 4) assert.deepStrictEqual(client.slice(0, 2), ['c connect', 'c open'], pair)
  }
})

/** One bootstrapped node of `Impl` on a fresh mixed network, and a log of a stream it connects. */
async function dialer (t, Impl, key = Impl.keyPair().publicKey) {
  const net = await mixedNet(t)
  const node = net.client(Impl)
  await node.fullyBootstrapped()
  const log = []
  const s = node.connect(key)
  record(s, log, 'c')
  return { s, log }
}

// Destroyed before the handshake finished: no open, opened false, no error, close once; the
// same for both implementations (no server connection is needed for this).
for (const Impl of [JS, RS]) {
  test(`lifecycle: destroy right after connect() never opens (${Impl === JS ? 'JS' : 'RS'})`, async (t) => {
    const { s, log } = await dialer(t, Impl)
    s.write('never sent')
    s.destroy()
    await closed(s)
    assert.deepStrictEqual(log, ['c close'])
    assert.strictEqual(await s.opened, false)
  })
}

// Also with a key that is no Ed25519 point (half of all random 32-byte strings, e.g. 0xab × 32):
// JS only computes the Noise message once a peer is found (ours said HANDSHAKE_INVALID at once).
for (const [name, key] of [['a fresh key', null], ['a key that is no curve point', Buffer.alloc(32, 0xab)]]) {
  test(`lifecycle: connecting to ${name} nobody announced fails like JS (PEER_NOT_FOUND, no open)`, async (t) => {
    const logs = []
    for (const Impl of [JS, RS]) {
      const { s, log } = await dialer(t, Impl, key || Impl.keyPair().publicKey)
      s.end()
      await closed(s)
      logs.push({ log, opened: await s.opened })
    }
    assert.deepStrictEqual(logs[1], logs[0])
    assert.deepStrictEqual(logs[0].log, ['c error:PEER_NOT_FOUND', 'c close'])
  })
}

test('lifecycle: connect() on a destroyed node fails like JS (Node destroyed, no open)', async (t) => {
  const logs = []
  for (const Impl of [JS, RS]) {
    const node = new Impl({ bootstrap: [], host: '127.0.0.1' })
    await node.destroy()
    const s = node.connect(Impl.keyPair().publicKey)
    const log = []
    s.on('error', (e) => log.push(`error:${e.message}`))
    s.on('open', () => log.push('open'))
    await closed(s)
    logs.push(log)
  }
  assert.deepStrictEqual(logs[1], logs[0])
  assert.deepStrictEqual(logs[0], ['error:Node destroyed'])
})

// Churn, destroying at every step (before the dial, after a tick, on open, after end): every
// connection a server accepted closes, and no connection is left in either node's table.
for (const [C, S, pair] of [[RS, RS, 'RS->RS'], [JS, RS, 'JS->RS'], [RS, JS, 'RS->JS']]) {
  test(`lifecycle: 400 connect/destroy cycles leave nothing behind (${pair})`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const serverClosed = []
    const srv = sNode.createServer((conn) => {
      conn.on('error', () => {})
      serverClosed.push(closed(conn))
      conn.on('data', (d) => conn.write(d))
      conn.on('end', () => conn.end())
    })
    await srv.listen(S.keyPair())
    t.after(() => srv.close())
    for (let i = 0; i < 400; i++) {
      const s = cNode.connect(srv.publicKey)
      s.on('error', () => {})
      const done = closed(s)
      switch (i % 4) {
        case 0: s.destroy(); break
        case 1: await new Promise((resolve) => setImmediate(resolve)); s.destroy(); break
        case 2: s.once('open', () => s.destroy()); break
        default: s.write('x'); s.end(); s.resume()
      }
      await done
    }
    await Promise.all(serverClosed)
    for (const node of [cNode, sNode]) {
      if (node instanceof RS) assert.strictEqual(node._conns.size, 0, 'no connection left in the table')
    }
  })
}

// Destroying at every step of a connection's life, with listeners attached right after
// connect(): before the dial could send anything (synchronously, after a tick), on `connect`, on
// `open`, with writes still queued, mid-write while data flows, on the first data, with an error.
// In every pairing the client sees exactly what a JS client sees with a JS server, and from
// `connect` on the server does too (bulk data counted out: how much arrives before the reset is a
// race). Before open the server side is not compared: a JS client stops its dial at the next
// step, a Rust client finishes it and then resets the connection, so a server may see a
// connection that closes with ECONNRESET (the engine's dial, crates/hyperdht); it must close.
const BIG = Buffer.alloc(64 * 1024, 0xab)

const STEPS = {
  'right after connect()': { early: true, client (s) { s.destroy() } },
  'after a tick': { early: true, client (s) { setImmediate(() => s.destroy()) } },
  'on connect': { client (s) { s.once('connect', () => s.destroy()) } },
  'on open': { client (s) { s.once('open', () => s.destroy()) } },
  'on open with writes queued': {
    client (s) {
      s.once('open', () => {
        for (let i = 0; i < 16; i++) s.write(BIG)
        s.destroy()
      })
    }
  },
  'mid-write while data flows': {
    bulk: true,
    client (s) {
      s.once('open', () => { for (let i = 0; i < 64; i++) s.write(BIG) })
      s.once('data', () => s.destroy()) // the server's answer to the first bulk chunk
    }
  },
  'on the first data': {
    client (s) {
      s.write('hi')
      s.once('data', () => s.destroy())
    }
  },
  'on open with an error': { client (s) { s.once('open', () => s.destroy(new Error('boom'))) } }
}

/** Like record(), with bulk data logged by size. */
function recordSized (stream, log, side) {
  for (const ev of ['connect', 'open', 'end', 'finish', 'close']) {
    stream.on(ev, () => log.push(`${side} ${ev}`))
  }
  stream.on('data', (d) => log.push(d.byteLength > 16 ? `${side} bulk` : `${side} data:${d}`))
  stream.on('error', (e) => log.push(`${side} error:${e.code || e.message}`))
}

for (const [name, step] of Object.entries(STEPS)) {
  test(`lifecycle: destroy ${name}: every pairing sees what JS sees`, { timeout: 120000 }, async (t) => {
    const net = await mixedNet(t)
    const results = []
    for (const [C, S, pair] of PAIRS) {
      const sNode = net.client(S)
      const cNode = net.client(C)
      await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
      const server = []
      const serverClosed = []
      // from `connect` on the server accepted the connection: its event may still be on the way
      let firstClosed = null
      const accepted = new Promise((resolve) => { firstClosed = resolve })
      const srv = sNode.createServer((conn) => {
        server.push('connection')
        recordSized(conn, server, 's')
        serverClosed.push(closed(conn))
        conn.on('close', firstClosed)
        let answered = false
        conn.on('data', (d) => {
          if (d.byteLength <= 16) conn.write(d)
          else if (!answered) {
            answered = true
            conn.write('got')
          }
        })
        conn.on('end', () => conn.end())
      })
      await srv.listen(S.keyPair())
      const client = []
      const s = cNode.connect(srv.publicKey)
      recordSized(s, client, 'c')
      step.client(s)
      await closed(s)
      const opened = await s.opened
      // a dial still running in the client node stops with it; then every connection the server
      // saw must close (the node's own teardown would close the rest)
      await cNode.destroy()
      if (!step.early) await accepted
      await Promise.all(serverClosed)
      if (!step.early) assert.strictEqual(serverClosed.length, 1, `${pair}: the server saw one connection`)
      await srv.close()
      if (C === RS) assert.strictEqual(cNode._conns.size, 0, `${pair}: no connection left in the client's table`)
      results.push({ pair, client, server: step.bulk ? server.filter((e) => e !== 's bulk') : server, opened })
    }
    const [reference, ...others] = results
    for (const got of others) {
      assert.deepStrictEqual(canonical(got.client), canonical(reference.client), `${got.pair}: client events`)
      assert.strictEqual(got.opened, reference.opened, `${got.pair}: opened`)
      if (step.early) {
        if (got.server.length) assert.deepStrictEqual(got.server.slice(-1), ['s close'], `${got.pair}: server side closes`)
      } else {
        assert.deepStrictEqual(canonical(got.server), canonical(reference.server), `${got.pair}: server events`)
      }
    }
  })
}

// hyperdht's connect work begins after the current tick: a stream destroyed synchronously after
// connect() sends no handshake, so the server never hears of it. Checked through the server's
// firewall (asked once per handshake): a second connect from the same node then opens, and the
// firewall has been asked exactly once. The same for a JS client (the reference) and ours.
for (const C of [JS, RS]) {
  test(`lifecycle: a ${C === RS ? 'Rust' : 'JS'} connect destroyed synchronously sends no handshake`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(RS)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    let asked = 0
    const srv = sNode.createServer({ firewall: () => { asked++; return false } }, (conn) => {
      conn.on('error', () => {})
      conn.end()
    })
    await srv.listen(RS.keyPair())
    const early = cNode.connect(srv.publicKey)
    early.on('error', () => {})
    early.destroy()
    await closed(early)
    const later = cNode.connect(srv.publicKey)
    later.on('error', () => {})
    await once(later, 'open')
    later.destroy()
    await closed(later)
    assert.strictEqual(asked, 1, 'only the second connect reached the server')
    await srv.close()
  })
}

nothingKeepsNodeAlive(test)
