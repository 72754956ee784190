'use strict'
// A TCP tunnel over hyperdht, the way hypertele/holesail use it: a local TCP proxy opens one
// encrypted connection per TCP session and pipes both ways; the server side pipes each
// connection to a TCP echo target. 100 concurrent sessions per Rust/JS pairing, every fifth cut
// by its TCP client mid-transfer. Every full session must echo byte-exact, and every pipeline on
// both sides must finish (a reset that never reached the other side leaves a connection open:
// a lost DESTROY, or a reset arriving after the reader finished, both seen here once).
const test = require('node:test')
const assert = require('node:assert')
const net = require('net')
const crypto = require('crypto')
const { pipeline } = require('streamx')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const SESSIONS = 100
const NAME = (Impl) => (Impl === RS ? 'Rust' : 'JS')

function listen (server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

function session (port, i, results) {
  return new Promise((resolve) => {
    const size = 1000 + (i * 7919) % 300000
    const data = crypto.randomBytes(size)
    const cutAt = i % 5 === 0 ? Math.floor(size / 3) : -1
    const c = net.connect(port, '127.0.0.1')
    const got = []
    let n = 0
    c.on('error', () => {})
    c.on('data', (d) => {
      got.push(d)
      n += d.length
      if (cutAt >= 0 && n >= cutAt) {
        results.cut++
        c.destroy()
        resolve()
      } else if (n >= size) {
        results[Buffer.concat(got).equals(data) ? 'ok' : 'bad']++
        c.end()
        resolve()
      }
    })
    c.on('close', resolve)
    c.write(data)
  })
}

for (const [C, S] of [[RS, JS], [JS, RS], [RS, RS]]) {
  test(`TCP tunnel, ${NAME(C)} proxy -> ${NAME(S)} server: ${SESSIONS} sessions, cut ones included, all pipelines finish`, { timeout: 60000 }, async (t) => {
    const { client } = await mixedNet(t)
    const sNode = client(S)
    const cNode = client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const target = net.createServer((s) => { s.on('error', () => {}); s.pipe(s) })
    const open = { proxy: 0, server: 0 }
    const server = sNode.createServer((conn) => {
      open.server++
      pipeline(conn, net.connect(targetPort, '127.0.0.1'), conn, () => { open.server-- })
    })
    const proxy = net.createServer((sock) => {
      open.proxy++
      pipeline(sock, cNode.connect(server.publicKey), sock, () => { open.proxy-- })
    })
    t.after(() => { proxy.close(); target.close() })
    const targetPort = await listen(target)
    await server.listen(S.keyPair())
    t.after(() => server.close())
    const proxyPort = await listen(proxy)

    const results = { ok: 0, cut: 0, bad: 0 }
    const sessions = []
    for (let i = 0; i < SESSIONS; i++) sessions.push(session(proxyPort, i, results))
    await Promise.all(sessions)
    assert.deepStrictEqual(results, { ok: SESSIONS * 4 / 5, cut: SESSIONS / 5, bad: 0 })
    const until = Date.now() + 10000
    while ((open.proxy || open.server) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepStrictEqual(open, { proxy: 0, server: 0 }, 'every pipeline finished within 10 s')
  })
}

nothingKeepsNodeAlive(test)
