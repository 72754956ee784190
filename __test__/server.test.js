'use strict'
// Issue 5: createServer options and Server methods through the public API — the firewall
// callback (sync and async, reject = no answer so the client fails with PEER_CONNECTION_FAILED),
// relayAddresses, refresh, suspend/resume — on a mixed local testnet, in a loopback-only netns.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const NAME = (Impl) => (Impl === RS ? 'Rust' : 'JS')

for (const [C, S] of [[JS, RS], [RS, RS], [RS, JS]]) {
  test(`firewall: ${NAME(C)} client -> ${NAME(S)} server, rejected then accepted`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const banned = C.keyPair()
    const calls = []
    const server = sNode.createServer({
      // async on purpose: hyperdht awaits the firewall
      async firewall (remotePublicKey, remotePayload, clientAddress) {
        calls.push({ remotePublicKey, remotePayload, clientAddress })
        await new Promise((resolve) => setImmediate(resolve))
        return remotePublicKey.equals(banned.publicKey)
      }
    })
    server.on('connection', (c) => {
      c.on('error', () => {})
      c.end()
    })
    await server.listen(S.keyPair())
    t.after(() => server.close())

    const rejected = cNode.connect(server.publicKey, { keyPair: banned })
    const [err] = await once(rejected, 'open').then(() => [null], (e) => [e])
    assert.ok(err, 'a firewalled client never opens')
    assert.strictEqual(err.code, 'PEER_CONNECTION_FAILED')
    assert.ok(calls.some((c) => c.remotePublicKey.equals(banned.publicKey)), 'firewall saw the banned key')

    const allowed = C.keyPair()
    const conn = cNode.connect(server.publicKey, { keyPair: allowed })
    await once(conn, 'open')
    const call = calls.find((c) => c.remotePublicKey.equals(allowed.publicKey))
    assert.ok(call, 'firewall saw the allowed key')
    assert.strictEqual(call.clientAddress.host, '127.0.0.1')
    assert.ok(call.clientAddress.port > 0)
    assert.strictEqual(typeof call.remotePayload.firewall, 'number')
    assert.ok(Array.isArray(call.remotePayload.addresses4))
    conn.on('error', () => {})
    conn.destroy()
  })
}

for (const S of [JS, RS]) {
  test(`${NAME(S)} server: firewall and holepunch are functions by default, and a firewall assigned while listening is asked from the next handshake on`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(JS)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = sNode.createServer((c) => c.on('error', () => {}))
    assert.strictEqual(typeof server.firewall, 'function')
    assert.strictEqual(server.firewall(), false, 'the default lets everyone in')
    assert.strictEqual(typeof server.holepunch, 'function')
    assert.strictEqual(server.holepunch(), true, 'the default punches')
    await server.listen(S.keyPair())
    t.after(() => server.close())
    const open = async () => {
      const c = cNode.connect(server.publicKey)
      c.on('error', () => {})
      const opened = await c.opened
      c.destroy()
      return opened
    }
    assert.strictEqual(await open(), true)
    const seen = []
    const mine = (remotePublicKey) => { seen.push(remotePublicKey.toString('hex')); return false }
    server.firewall = mine
    assert.strictEqual(server.firewall, mine)
    assert.strictEqual(await open(), true)
    assert.deepStrictEqual(seen, [cNode.defaultKeyPair.publicKey.toString('hex')], 'asked once, about the client')

    // assigned while listen() is still announcing
    const late = sNode.createServer((c) => c.on('error', () => {}))
    const listening = late.listen(S.keyPair())
    const lateSeen = []
    late.firewall = (remotePublicKey) => { lateSeen.push(remotePublicKey.toString('hex')); return false }
    await listening
    t.after(() => late.close())
    const c = cNode.connect(late.publicKey)
    c.on('error', () => {})
    assert.strictEqual(await c.opened, true)
    c.destroy()
    assert.deepStrictEqual(lateSeen, [cNode.defaultKeyPair.publicKey.toString('hex')], 'a firewall assigned during listen() is asked')
  })
}

test('Rust server: a throwing firewall rejects', async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(RS)
  const cNode = net.client(JS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const server = sNode.createServer({
    firewall () {
      throw new Error('boom')
    }
  })
  await server.listen(RS.keyPair())
  t.after(() => server.close())
  const conn = cNode.connect(server.publicKey)
  const [err] = await once(conn, 'open').then(() => [null], (e) => [e])
  assert.strictEqual(err && err.code, 'PEER_CONNECTION_FAILED')
})

test('Rust server: relayAddresses, address(), refresh, suspend/resume', async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(RS)
  const cNode = net.client(JS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const server = sNode.createServer((c) => {
    c.on('error', () => {})
    c.end()
  })
  assert.deepStrictEqual(server.relayAddresses, [], 'no relays before listen')
  const kp = RS.keyPair()
  await server.listen(kp)
  t.after(() => server.close())

  const relays = server.relayAddresses
  assert.ok(relays.length > 0, 'announced on some relays')
  for (const r of relays) {
    assert.strictEqual(r.host, '127.0.0.1')
    assert.ok(r.port > 0)
  }
  // JS sees the same relays in the server's announcement
  const key = (a) => a.host + ':' + a.port
  const records = async () => {
    const peers = []
    for await (const data of cNode.findPeer(kp.publicKey)) if (data.peer) peers.push(data.peer)
    return peers
  }
  const found = await records()
  assert.ok(found.length > 0, 'findPeer finds the server')
  for (const p of found) {
    for (const r of p.relayAddresses) assert.ok(relays.map(key).includes(key(r)), 'relay ' + key(r) + ' is one of ours')
  }

  const a = server.address()
  assert.ok(a.publicKey.equals(kp.publicKey))
  assert.strictEqual(a.host, '127.0.0.1')
  server.refresh()

  // suspend unannounces (hyperdht announcer.suspend -> _unannounceCurrent)
  await server.suspend()
  assert.strictEqual(server.suspended, true)
  assert.deepStrictEqual(await records(), [], 'no record while suspended')
  // resume re-announces in the background, like hyperdht: wait until the record is back
  await server.resume()
  assert.strictEqual(server.suspended, false)
  while ((await records()).length === 0) await new Promise((resolve) => setTimeout(resolve, 100))
  const conn = cNode.connect(kp.publicKey)
  await once(conn, 'open')
  conn.on('error', () => {})
  conn.destroy()

  await server.close()
  assert.deepStrictEqual(server.relayAddresses, [], 'no relays after close')
})

test('server.address() is the node\'s host and port as the DHT sees them, not the bound 0.0.0.0 (JS and Rust alike)', async (t) => {
  const net = await mixedNet(t)
  const got = {}
  for (const Impl of [JS, RS]) {
    const node = net.client(Impl, { host: '0.0.0.0' })
    await node.fullyBootstrapped()
    const server = node.createServer(() => {})
    assert.strictEqual(server.address(), null, 'null before listen')
    const kp = Impl.keyPair()
    await server.listen(kp)
    t.after(() => server.close())
    assert.strictEqual(node.address().host, '0.0.0.0', 'bound to every interface')
    const a = server.address()
    assert.deepStrictEqual({ ...a }, { publicKey: kp.publicKey, host: node.host, port: node.port }, NAME(Impl))
    got[NAME(Impl)] = a.host
  }
  assert.deepStrictEqual(got, { JS: '127.0.0.1', Rust: '127.0.0.1' })
})

test('connect accepts the server key as Buffer, hex or z-base32 (like hyperdht)', async (t) => {
  const z32 = require('z32')
  const net = await mixedNet(t)
  const sNode = net.client(JS)
  const cNode = net.client(RS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const server = sNode.createServer((c) => {
    c.on('error', () => {})
    c.end()
  })
  await server.listen(JS.keyPair())
  t.after(() => server.close())
  for (const key of [server.publicKey.toString('hex'), z32.encode(server.publicKey)]) {
    const conn = cNode.connect(key)
    await once(conn, 'open')
    assert.ok(conn.remotePublicKey.equals(server.publicKey))
    conn.on('error', () => {})
    conn.destroy()
  }
  // hyperdht decodes string keys with hypercore-id-encoding: the same error from both
  for (const node of [cNode, sNode]) {
    for (const bad of ['not-a-key', null, 42]) assert.throws(() => node.connect(bad), { message: 'Invalid Hypercore key' })
  }
})

for (const force of [false, true]) {
  test(`destroy({force: ${force}}) with a live server and connection ${force ? 'leaves the record' : 'closes the server and unannounces'}`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(RS)
    const cNode = net.client(JS)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = sNode.createServer((c) => c.on('error', () => {}))
    const kp = RS.keyPair()
    await server.listen(kp)
    const conn = cNode.connect(kp.publicKey)
    conn.on('error', () => {})
    await once(conn, 'open')
    const serverClosed = once(server, 'close')
    // the remote side sees the connection go away (reset or timeout: an 'error' before 'close')
    const peerClosed = new Promise((resolve) => conn.once('close', resolve))
    const d0 = Date.now()
    await sNode.destroy({ force })
    t.diagnostic(`destroy took ${Date.now() - d0} ms`)
    assert.strictEqual(sNode.destroyed, true)
    if (!force) await serverClosed
    const t0 = Date.now()
    await peerClosed
    t.diagnostic(`peer saw the close after ${Date.now() - t0} ms`)
    let records = 0
    for await (const data of cNode.findPeer(kp.publicKey)) if (data.peer) records++
    if (force) assert.ok(records > 0, 'force: no unannounce, the record stays until it expires')
    else assert.strictEqual(records, 0, 'unannounced on close')
  })
}

for (const [C, S] of [[RS, JS], [RS, RS], [JS, RS]]) {
  test(`relayAddresses / hyperdht-address: ${NAME(C)} client reaches a ${NAME(S)} server on another network`, async (t) => {
    const HyperDHTAddress = require('hyperdht-address')
    const clientNet = await mixedNet(t)
    const serverNet = await mixedNet(t) // a separate DHT: FIND_PEER from the client's cannot find the server
    const sNode = serverNet.client(S)
    const cNode = clientNet.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = sNode.createServer({ reusableSocket: true }, (c) => {
      c.on('error', () => {})
      c.end()
    })
    const kp = S.keyPair()
    await server.listen(kp)
    t.after(() => server.close())
    const relays = server.relayAddresses
    assert.ok(relays.length > 0)

    const lost = cNode.connect(kp.publicKey)
    const [err] = await once(lost, 'open').then(() => [null], (e) => [e])
    assert.strictEqual(err && err.code, 'PEER_NOT_FOUND', 'not findable from the other network')

    const viaOpt = cNode.connect(kp.publicKey, { relayAddresses: relays, reusableSocket: true, keyPair: C.keyPair() })
    await once(viaOpt, 'open')
    assert.ok(viaOpt.remotePublicKey.equals(kp.publicKey))
    viaOpt.on('error', () => {})
    viaOpt.destroy()

    const viaKey = cNode.connect(HyperDHTAddress.encode(kp.publicKey, relays), { keyPair: C.keyPair() })
    await once(viaKey, 'open')
    assert.ok(viaKey.remotePublicKey.equals(kp.publicKey))
    viaKey.on('error', () => {})
    viaKey.destroy()
  })
}

test('listen: returns the server, rejects a reused key pair, a second listen and bad keys', async (t) => {
  const net = await mixedNet(t)
  const node = net.client(RS)
  await node.fullyBootstrapped()
  const kp = RS.keyPair()
  const a = node.createServer()
  t.after(() => a.close())
  assert.strictEqual(await a.listen(kp), a)
  await assert.rejects(a.listen(RS.keyPair()), (e) => e.code === 'ALREADY_LISTENING')
  const b = node.createServer()
  await assert.rejects(b.listen(kp), (e) => e.code === 'KEYPAIR_ALREADY_USED')
  const c = node.createServer()
  await assert.rejects(c.listen({ publicKey: Buffer.alloc(31), secretKey: Buffer.alloc(64) }), TypeError)
  assert.strictEqual(c.listening, false)
})

// hyperdht: close() or the node's destroy() while listen() waits or announces ends listen()
// quietly (it resolves, no 'listening' after close) and leaves nothing announced.
for (const [when, wait] of [['synchronously', () => {}], ['after a tick', () => new Promise((resolve) => setImmediate(resolve))], ['after 5 ms', () => new Promise((resolve) => setTimeout(resolve, 5))]]) {
  test(`listen: close() ${when} after listen() resolves it and leaves the key unreachable (JS and Rust alike)`, async (t) => {
    const net = await mixedNet(t)
    const seen = {}
    for (const Impl of [JS, RS]) {
      const node = net.client(Impl)
      await node.fullyBootstrapped()
      const server = node.createServer(() => assert.fail('a closed server accepted a connection'))
      let listeningAfterClose = false
      let closed = false
      server.on('listening', () => { if (closed) listeningAfterClose = true })
      const kp = Impl.keyPair()
      const listening = server.listen(kp)
      await wait()
      closed = true
      await server.close()
      assert.strictEqual(await listening, server)
      assert.strictEqual(listeningAfterClose, false)
      assert.strictEqual(node.listening.size, 0)
      const client = net.client(Impl)
      const s = client.connect(kp.publicKey)
      const err = await new Promise((resolve) => { s.on('error', resolve); s.on('open', () => resolve('opened')) })
      seen[Impl === RS ? 'rs' : 'js'] = err && err.code
    }
    assert.deepStrictEqual(seen, { js: 'PEER_NOT_FOUND', rs: 'PEER_NOT_FOUND' })
  })
}

test('listen: destroying the node while listen() announces resolves listen() and closes the server (JS and Rust alike)', async (t) => {
  const net = await mixedNet(t)
  for (const Impl of [JS, RS]) {
    for (const wait of [() => {}, () => new Promise((resolve) => setImmediate(resolve))]) {
      const node = net.client(Impl)
      await node.fullyBootstrapped()
      const server = node.createServer()
      const listening = server.listen()
      await wait()
      await node.destroy()
      assert.strictEqual(server.closed, true)
      assert.strictEqual(await listening, server)
    }
  }
})

// hyperdht hands every accepted connection to `server.onconnection(socket)`, which emits
// `connection`; an app (or subclass) replacing it gets the sockets instead of the event.
for (const S of [JS, RS]) {
  test(`${NAME(S)} server: a replaced onconnection gets every connection, no 'connection' event`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(RS)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = sNode.createServer()
    let events = 0
    server.on('connection', () => events++)
    const got = new Promise((resolve) => {
      server.onconnection = (socket) => {
        socket.on('error', () => {})
        socket.end()
        resolve(socket)
      }
    })
    await server.listen(S.keyPair())
    t.after(() => server.close())
    const c = cNode.connect(server.publicKey)
    c.on('error', () => {})
    c.on('end', () => c.end())
    c.resume()
    const socket = await got
    assert.ok(socket.remotePublicKey.equals(cNode.defaultKeyPair.publicKey))
    await once(c, 'close')
    assert.strictEqual(events, 0)
    server.notifyOnline()
  })
}

// The upstream pool test's pattern: the client ends at once and the server is closed as soon as the
// client is open. hyperdht emits `connection` as soon as the accepted stream connects (a close()
// after that does not end it), so the app's server gets every such connection and the client sees
// a clean end. Ours delivers the connection through its engine's event queue, which close() used to
// overtake: the queued connection was then destroyed and the client failed with ECONNRESET.
for (const C of [RS, JS]) {
  test(`${NAME(C)} client -> Rust server: a connection accepted just before close() still reaches the server`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(RS)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    let accepted = 0
    for (let i = 0; i < 25; i++) {
      const server = sNode.createServer((c) => {
        accepted++
        c.on('error', () => {})
        c.end()
      })
      await server.listen(RS.keyPair())
      const client = cNode.connect(server.publicKey)
      const errors = []
      client.on('error', (e) => errors.push(e.code))
      const closed = once(client, 'close')
      client.end()
      await once(client, 'open')
      await server.close()
      await closed
      assert.deepStrictEqual(errors, [], `connection ${i} ended cleanly`)
    }
    assert.strictEqual(accepted, 25, 'the server got every connection')
  })
}

nothingKeepsNodeAlive(test)

// hyperdht: a listening server's `closed` turns true when the close is done, right before `close`
// is emitted, not when close() is called; one that never listened closes within close().
test('server.closed turns true when close() is done (JS and Rust alike)', async (t) => {
  const net = await mixedNet(t)
  for (const Impl of [JS, RS]) {
    const node = net.client(Impl)
    await node.fullyBootstrapped()
    for (const listen of [true, false]) {
      const server = node.createServer()
      if (listen) await server.listen(Impl.keyPair())
      const seen = []
      server.on('close', () => seen.push(server.closed))
      const closing = server.close()
      // not listening: closed at once, `close` within close()
      assert.strictEqual(server.closed, !listen, `${NAME(Impl)} listen=${listen}: at close()`)
      assert.deepStrictEqual(seen, listen ? [] : [true])
      assert.strictEqual(server.close(), closing, 'a second close() is the same promise')
      await closing
      assert.strictEqual(server.closed, true)
      assert.deepStrictEqual(seen, [true], `${NAME(Impl)} listen=${listen}: true when 'close' comes`)
    }
  }
})

// hyperdht: listen() on a closed server resolves without announcing; the server then counts as
// listening (a second listen() throws ALREADY_LISTENING) and has no key pair
test('listen() on a closed server resolves, announces nothing, and a second listen() throws (JS and Rust alike)', async (t) => {
  const net = await mixedNet(t)
  const seen = {}
  for (const Impl of [JS, RS]) {
    const node = net.client(Impl)
    await node.fullyBootstrapped()
    const server = node.createServer()
    const events = []
    server.on('listening', () => events.push('listening'))
    await server.close()
    assert.strictEqual(await server.listen(), server)
    await assert.rejects(server.listen(), (err) => err.code === 'ALREADY_LISTENING')
    seen[NAME(Impl)] = { events, listening: server.listening, closed: server.closed, publicKey: server.publicKey, address: server.address() }
  }
  assert.deepStrictEqual(seen.Rust, seen.JS)
  assert.deepStrictEqual(seen.JS, { events: [], listening: true, closed: true, publicKey: null, address: null })
})
