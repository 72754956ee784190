'use strict'
// Issue 3: records across the JS/Rust boundary, every direction (npm test runs this in a loopback netns).
const test = require('node:test')
const assert = require('node:assert')
const { RS, JS, bootstrapper, persistentNode, cleanup, nothingKeepsNodeAlive } = require('./helpers')
const Persistent = require('hyperdht/lib/persistent')
const { COMMANDS } = require('hyperdht/lib/constants')

async function network (t, storageKinds, size = 6) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(storageKinds[0])
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < size; i++) nodes.push(persistentNode(storageKinds[i % storageKinds.length], bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const client = (Impl) => {
    const c = new Impl({ ephemeral: true, bootstrap, host: '127.0.0.1', port: 0 })
    nodes.push(c)
    return c
  }
  return { nodes, bootstrap, client }
}

async function collectPeers (q) {
  const keys = new Set()
  for await (const r of q) for (const p of r.peers) keys.add(p.publicKey.toString('hex'))
  return keys
}

for (const [A, B, name] of [[JS, RS, 'JS announces, Rust looks up'], [RS, JS, 'Rust announces, JS looks up']]) {
  test(name + ' (mixed storage), then unannounce', async (t) => {
    const net = await network(t, [JS, RS])
    const a = net.client(A)
    const b = net.client(B)
    await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
    const topic = RS.hash(Buffer.from(name))
    const kp = A.keyPair()
    await a.announce(topic, kp, [{ host: '127.0.0.1', port: 4242 }]).finished()
    let found = null
    for await (const r of b.lookup(topic)) {
      for (const p of r.peers) if (p.publicKey.equals(kp.publicKey)) found = p
    }
    assert.ok(found, 'peer record found')
    assert.deepStrictEqual(found.relayAddresses, [{ host: '127.0.0.1', port: 4242 }])

    await a.unannounce(topic, kp)
    const after = await collectPeers(b.lookup(topic))
    assert.ok(!after.has(kp.publicKey.toString('hex')), 'record gone after unannounce')
  })
}

for (const [storage, client, name] of [
  [[RS], JS, 'Rust-only storage network serves a JS client'],
  [[JS], RS, 'JS-only storage network serves a Rust client']
]) {
  test(name, async (t) => {
    const net = await network(t, storage)
    const c = net.client(client)
    const other = net.client(client === JS ? RS : JS)
    await Promise.all([c.fullyBootstrapped(), other.fullyBootstrapped()])

    const { hash } = await c.immutablePut(Buffer.from('immutable ' + name))
    assert.ok(hash.equals(RS.hash(Buffer.from('immutable ' + name))))
    const got = await other.immutableGet(hash)
    assert.ok(got && got.value.equals(Buffer.from('immutable ' + name)))
    assert.strictEqual(await other.immutableGet(RS.hash(Buffer.from('never stored ' + name))), null)
    assert.strictEqual(await c.immutableGet(RS.hash(Buffer.from('never stored ' + name))), null)
    // the raw query API, with `value: null` as hyperdht itself calls it
    for (const node of [c, other]) {
      let seen = false
      for await (const r of node.query({ target: hash, command: COMMANDS.IMMUTABLE_GET, value: null })) {
        if (r.value && r.value.equals(Buffer.from('immutable ' + name))) seen = true
      }
      assert.ok(seen, 'a raw IMMUTABLE_GET query sees the value')
    }

    const kp = RS.keyPair()
    const put = await c.mutablePut(kp, Buffer.from('v0'), { seq: 0 })
    assert.strictEqual(put.seq, 0)
    assert.ok(put.publicKey.equals(kp.publicKey))
    assert.strictEqual(put.signature.length, 64)
    const g0 = await other.mutableGet(kp.publicKey)
    assert.strictEqual(g0.seq, 0)
    assert.ok(g0.value.equals(Buffer.from('v0')))

    const topic = RS.hash(Buffer.from('topic ' + name))
    const akp = RS.keyPair()
    await c.announce(topic, akp).finished()
    const peers = await collectPeers(other.lookup(topic))
    assert.ok(peers.has(akp.publicKey.toString('hex')))
  })
}

test('mutable seq rules across implementations', async (t) => {
  const net = await network(t, [JS, RS])
  const js = net.client(JS)
  const rs = net.client(RS)
  await Promise.all([js.fullyBootstrapped(), rs.fullyBootstrapped()])
  const kp = RS.keyPair()

  for (const [writer, reader, seq] of [[rs, js, 0], [js, rs, 1], [rs, js, 2]]) {
    await writer.mutablePut(kp, Buffer.from('seq ' + seq), { seq })
    const got = await reader.mutableGet(kp.publicKey)
    assert.strictEqual(got.seq, seq)
    assert.ok(got.value.equals(Buffer.from('seq ' + seq)))
  }

  // seq filter: asking for seq >= 3 finds nothing; latest:false returns some valid record
  assert.strictEqual(await rs.mutableGet(kp.publicKey, { seq: 3 }), null)
  assert.strictEqual(await js.mutableGet(kp.publicKey, { seq: 3 }), null)
  const any = await rs.mutableGet(kp.publicKey, { latest: false })
  assert.ok(any && any.seq <= 2)

  // a lower seq does not replace the stored record; a reused seq with other content neither
  for (const writer of [js, rs]) {
    await writer.mutablePut(kp, Buffer.from('older'), { seq: 1 })
    await writer.mutablePut(kp, Buffer.from('different'), { seq: 2 })
  }
  for (const reader of [js, rs]) {
    const got = await reader.mutableGet(kp.publicKey)
    assert.strictEqual(got.seq, 2)
    assert.ok(got.value.equals(Buffer.from('seq 2')))
  }
})

test('bad arguments from JS are TypeErrors', async (t) => {
  const net = await network(t, [RS], 2)
  const c = net.client(RS)
  await c.fullyBootstrapped()
  assert.throws(() => c.lookup(Buffer.alloc(31)), TypeError)
  // a key pair it cannot sign with fails the announce when it runs (hyperdht signs in the query)
  await assert.rejects(c.announce(Buffer.alloc(32), { publicKey: Buffer.alloc(5) }).finished(), TypeError)
  await assert.rejects(c.mutableGet(Buffer.alloc(10)), TypeError)
  await assert.rejects(c.mutablePut({ publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(10) }, Buffer.from('x')), TypeError)
  await assert.rejects(c.immutableGet('nope'), TypeError)
})

test('non-custodial signing hooks and keyPair.sign interoperate with JS storage', async (t) => {
  const net = await network(t, [JS, RS])
  const rs = net.client(RS)
  const js = net.client(JS)
  await Promise.all([rs.fullyBootstrapped(), js.fullyBootstrapped()])
  const secret = RS.keyPair()
  // an external signer: only the public key and a sign() function leave the "wallet"
  const signer = {
    publicKey: secret.publicKey,
    sign: (msg) => {
      signer.calls++
      return signDetached(msg, secret.secretKey)
    },
    calls: 0
  }
  const topic = RS.hash(Buffer.from('hooked topic'))
  await rs.announce(topic, signer, [{ host: '127.0.0.1', port: 7000 }]).finished()
  assert.ok(signer.calls > 0, 'keyPair.sign was used')
  const peers = await collectPeers(js.lookup(topic))
  assert.ok(peers.has(secret.publicKey.toString('hex')))

  let hookCalls = 0
  await rs.unannounce(topic, secret, {
    // upstream's own default implementation, called through our hook plumbing
    signUnannounce: (target, token, id, ann, keyPair) => {
      hookCalls++
      assert.strictEqual(ann.peer.relayAddresses.length, 0)
      return Persistent.signUnannounce(target, token, id, ann, keyPair)
    }
  })
  assert.ok(hookCalls > 0, 'signUnannounce hook was used')
  const after = await collectPeers(js.lookup(topic))
  assert.ok(!after.has(secret.publicKey.toString('hex')))

  let mutableCalls = 0
  const put = await rs.mutablePut(secret, Buffer.from('hooked'), {
    seq: 4,
    signMutable: (seq, value, keyPair) => {
      mutableCalls++
      return Persistent.signMutable(seq, value, keyPair)
    }
  })
  assert.strictEqual(mutableCalls, 1)
  const got = await js.mutableGet(secret.publicKey)
  assert.strictEqual(got.seq, 4)
  assert.ok(got.signature.equals(put.signature))
})

function signDetached (msg, secretKey) {
  const sodium = require('sodium-universal')
  const sig = Buffer.alloc(64)
  sodium.crypto_sign_detached(sig, msg, secretKey)
  return sig
}

test('forged, token-less and oversized writes from a JS client are rejected by Rust storage', async (t) => {
  const net = await network(t, [RS], 4)
  const js = net.client(JS)
  await js.fullyBootstrapped()
  const target = RS.hash(Buffer.from('forgery topic'))
  const kp = RS.keyPair()
  const storage = net.nodes.filter((n) => n instanceof RS && n.id)
  let node = null
  let token = null
  // a raw LOOKUP query yields every reply (hyperdht's lookup() skips replies without records)
  for await (const r of js.query({ target, command: 3, value: null })) {
    if (r.token && r.from.id && storage.some((n) => n.address().port === r.from.port)) {
      node = r.from
      token = r.token
      break
    }
  }
  assert.ok(node && token, 'got a token from a Rust storage node')

  // forged announce: signature by another key -> silently dropped (request times out like JS)
  const forged = require('hyperdht/lib/messages')
  const c = require('compact-encoding')
  const other = RS.keyPair()
  const ann = { peer: { publicKey: kp.publicKey, relayAddresses: [] }, refresh: null, signature: null, bump: 0 }
  ann.signature = await Persistent.signAnnounce(target, token, node.id, ann, other)
  const value = c.encode(forged.announce, ann)
  await assert.rejects(js.request({ token, target, command: 4, value }, node, { retry: false }), /REQUEST_TIMEOUT/)
  // genuine signature but a wrong token -> INVALID_TOKEN error reply (dht-rpc), never stored
  ann.signature = await Persistent.signAnnounce(target, token, node.id, ann, kp)
  const bad = await js.request({ token: Buffer.alloc(32, 1), target, command: 4, value: c.encode(forged.announce, ann) }, node)
  assert.strictEqual(bad.error, 2)
  // oversized immutable put (beyond the 2048-byte datagram limit): no crash, nothing stored
  const big = Buffer.alloc(4000, 7)
  await assert.rejects(js.request({ token, target: RS.hash(big), command: 8, value: big }, node, { retry: false }))

  const peers = await collectPeers(js.lookup(target))
  assert.ok(!peers.has(kp.publicKey.toString('hex')), 'nothing was stored')
  // every Rust storage node is still alive and answering
  for (const n of storage) {
    const r = await js.ping({ host: '127.0.0.1', port: n.address().port })
    assert.ok(r.from.id)
  }
})

test('Rust DHT nodes route handshakes between a JS client and a JS server', async (t) => {
  // storage + routing are all Rust; only the two endpoints are JS
  const net = await network(t, [RS], 6)
  const serverNode = net.client(JS)
  const clientNode = net.client(JS)
  await Promise.all([serverNode.fullyBootstrapped(), clientNode.fullyBootstrapped()])
  const kp = JS.keyPair()
  const server = serverNode.createServer((conn) => {
    conn.on('data', (d) => conn.write(Buffer.concat([Buffer.from('echo:'), d])))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
  t.after(() => server.close())
  await server.listen(kp)
  const conn = clientNode.connect(kp.publicKey)
  conn.on('error', () => {})
  await new Promise((resolve, reject) => {
    conn.once('open', resolve)
    conn.once('close', () => reject(new Error('closed before open')))
  })
  conn.write(Buffer.from('hi'))
  const [reply] = await Promise.race([
    require('events').once(conn, 'data'),
    new Promise((resolve, reject) => setTimeout(() => reject(new Error('no echo')), 10000))
  ])
  assert.strictEqual(reply.toString(), 'echo:hi')
  assert.ok(conn.remotePublicKey.equals(kp.publicKey))
  conn.end()
  conn.destroy()
})

nothingKeepsNodeAlive(test)
