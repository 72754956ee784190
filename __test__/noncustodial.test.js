'use strict'
// Non-custodial keys (hyperdht's test/noncustodial.js, extended): the secret key never reaches
// the DHT node. The server runs its Noise handshakes in the app's `createHandshake` objects
// (NoiseWrap subclasses that hide the session keys from the node), signs its announces with
// `listen({publicKey}, {signAnnounce, signUnannounce})`, and both ends run their own
// secret-stream (`createSecretStream`) with the keys only they can unwrap. Every pairing of JS and
// Rust ends, on a network of JS and Rust storing nodes (which check those signatures).
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')
const NoiseWrap = require('../lib/noise-wrap')
const Persistent = require('../lib/persistent')
const sodium = require('sodium-universal')

const PAIRS = [[JS, JS, 'JS->JS'], [RS, RS, 'RS->RS'], [RS, JS, 'RS->JS'], [JS, RS, 'JS->RS']]

/** An app's handshake objects: the session keys leave final() wrapped, the node sees the rest. */
function createHandshake (keyPair, calls) {
  return (_, remotePublicKey) => {
    calls.push(remotePublicKey ? 'client' : 'server')
    return new (class extends NoiseWrap {
      final () {
        const { hash, rx, tx, ...rest } = super.final()
        return { ...rest, $secret: { hash, rx, tx } }
      }
    })(keyPair, remotePublicKey)
  }
}

/** The app's secret-stream, unwrapping the keys its handshake object hid. */
function createSecretStream (isInitiator, rawStream, opts) {
  const unwrap = (o) => {
    if (!o.handshake) return o
    const { $secret, ...rest } = o.handshake
    return { ...o, handshake: { ...rest, ...$secret } }
  }
  return new (class extends NoiseSecretStream {
    start (rawStream, opts) {
      return super.start(rawStream, unwrap(opts))
    }
  })(isInitiator, rawStream, unwrap(opts))
}

function signers (keyPair, signed) {
  return {
    signAnnounce: (target, token, id, ann) => {
      signed.push('announce')
      return Persistent.signAnnounce(target, token, id, ann, keyPair.secretKey)
    },
    signUnannounce: (target, token, id, ann) => {
      signed.push('unannounce')
      return Persistent.signUnannounce(target, token, id, ann, keyPair.secretKey)
    }
  }
}

for (const [C, S, pair] of PAIRS) {
  test(`non-custodial server and client: external handshakes, signatures and secret-streams (${pair})`, { timeout: 60000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const serverKeyPair = S.keyPair()
    const clientKeyPair = C.keyPair()
    const calls = []
    const signed = []

    const got = []
    const serverDone = new Promise((resolve, reject) => {
      const server = sNode.createServer({ createHandshake: createHandshake(serverKeyPair, calls), createSecretStream }, (socket) => {
        socket.on('error', reject)
        socket.on('data', (d) => got.push(d))
        socket.once('end', () => { socket.end(); resolve(server) })
      })
      server.listen({ publicKey: serverKeyPair.publicKey }, signers(serverKeyPair, signed)).then(() => {
        assert.ok(signed.includes('announce'), 'the announces were signed by the app')
        const client = cNode.connect(server.publicKey, {
          createHandshake: createHandshake(clientKeyPair, calls),
          createSecretStream,
          keyPair: { publicKey: clientKeyPair.publicKey }
        })
        client.on('error', reject)
        // written before the handshake: the app's stream holds it
        client.end('hello')
      }, reject)
    })
    const server = await serverDone
    assert.strictEqual(Buffer.concat(got).toString(), 'hello')
    assert.ok(calls.includes('client') && calls.includes('server'), `handshake objects made: ${calls}`)
    await server.close()
    assert.ok(signed.includes('unannounce'), 'closing unannounced with the app\'s signatures')
  })
}

test('non-custodial: a key pair with sign() is enough to listen; the record it signs is found', { timeout: 60000 }, async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(RS)
  const cNode = net.client(JS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const kp = RS.keyPair()
  let signs = 0
  // e.g. a hardware signer: the node only ever sees the public key and a sign function
  const signer = {
    publicKey: kp.publicKey,
    sign: (signable) => {
      signs++
      const sig = Buffer.alloc(64)
      sodium.crypto_sign_detached(sig, signable, kp.secretKey)
      return sig
    }
  }
  // a plain NoiseWrap hands the session keys to the node, which then runs secret-stream itself
  const server = sNode.createServer({ createHandshake: (_, remote) => new NoiseWrap(kp, remote) }, (socket) => socket.on('error', () => {}).end('hi'))
  await server.listen(signer)
  assert.ok(signs > 0)
  // a JS node finds the record through the storing nodes (they verified our signature)
  const found = []
  for await (const data of cNode.findPeer(kp.publicKey)) found.push(data)
  assert.ok(found.some((d) => d.peer && d.peer.publicKey.equals(kp.publicKey)), 'a storing node returned the record')
  // the engine runs secret-stream when the handshake object hands over the keys
  const socket = cNode.connect(kp.publicKey)
  const [data] = await once(socket, 'data')
  assert.strictEqual(data.toString(), 'hi')
  socket.destroy()
  await server.close()
})

test('non-custodial: a throwing createHandshake leaves connect() as in JS; listening needs a signer', async (t) => {
  const net = await mixedNet(t)
  const errs = []
  for (const Impl of [JS, RS]) {
    const node = net.client(Impl)
    await node.fullyBootstrapped()
    const kp = Impl.keyPair()
    if (Impl === RS) {
      // JS hyperdht listens, but every announce fails to sign (nobody can find the server);
      // ours says so at once
      const server = node.createServer({ createHandshake: createHandshake(kp, []) })
      await assert.rejects(server.listen({ publicKey: kp.publicKey }), /signAnnounce/)
      await server.close()
    }
    const boom = new Error('no handshake today')
    assert.throws(() => node.connect(kp.publicKey, { createHandshake: () => { throw boom } }), (err) => err === boom)
    errs.push(Impl === RS ? 'rs' : 'js')
  }
  assert.deepStrictEqual(errs, ['js', 'rs'])
})

nothingKeepsNodeAlive(test)
