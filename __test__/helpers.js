'use strict'
// Shared helpers for the node --test suite. Every networked test runs inside the loopback-only
// namespace set up by scripts/netns.js (npm test), touches 127.0.0.1 only and destroys what it creates.
const dgram = require('dgram')
const fs = require('fs')
const os = require('os')
const path = require('path')
const RS = require('..')
const JS = require('hyperdht')

function kindOf (node) {
  return node instanceof RS ? 'rs' : 'js'
}

/** A UDP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). */
async function freePort () {
  const s = dgram.createSocket('udp4')
  await new Promise((resolve, reject) => s.once('error', reject).bind(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** Creates a bootstrapper of the given kind on a free port. */
async function bootstrapper (Impl, opts = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const node = Impl.bootstrapper(await freePort(), '127.0.0.1', { host: '127.0.0.1', ...opts })
    try {
      await node.fullyBootstrapped()
      return node
    } catch (err) {
      await destroyUnbound(node)
      if (attempt === 19) throw err
    }
  }
}

/**
 * Destroys a node whose bind failed. JS hyperdht (dht-rpc 6.27) then rejects destroy() with the
 * bind error and never closes its network-interface watcher, a ref'd 5 s libuv timer, so the
 * process never exits (how one lifecycle.test.js run hung: a random bootstrapper port was
 * taken); that watcher is closed here by hand.
 */
async function destroyUnbound (node) {
  await node.destroy().catch(() => {})
  if (node.io && node.io.networkInterfaces) await node.io.networkInterfaces.destroy()
}

/** A persistent testnet node of the given kind (like testnet.js, but mixed). */
function persistentNode (Impl, bootstrap, opts = {}) {
  return new Impl({ ephemeral: false, firewalled: false, bootstrap, host: '127.0.0.1', port: 0, ...opts })
}

function cleanup (t, nodes) {
  t.after(async () => {
    for (let i = nodes.length - 1; i >= 0; i--) await nodes[i].destroy().catch(() => {})
  })
}

function addrKey (a) {
  return a.host + ':' + a.port
}

/** A JS bootstrapper + 3 JS and 3 Rust persistent nodes; `client(Impl, opts)` adds a node destroyed with the net. */
async function mixedNet (t) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 6; i++) nodes.push(persistentNode(i % 2 ? RS : JS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const client = (Impl, opts = {}) => {
    const n = new Impl({ bootstrap, host: '127.0.0.1', port: 0, ...opts })
    nodes.push(n)
    return n
  }
  return { client }
}

function echoServer (node) {
  return node.createServer((conn) => {
    conn.on('data', (d) => conn.write(d))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
}

/** A fresh temporary directory, removed after the test (`t.after` hooks run in the order registered). */
function tmpDir (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperdht-rs-test-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Registers a last test for the file: once every earlier test destroyed what it made, no native
 * object may still hold Node's event loop open (each live one keeps a ref'd ThreadsafeFunction,
 * and a process with one left never exits). Polls the count until it is 0, bounded at 10 s.
 */
function nothingKeepsNodeAlive (test) {
  test('every destroyed native object lets Node exit (no live event sink left)', async () => {
    const { liveEventSinks } = require('../binding.js')
    const until = Date.now() + 10000
    while (liveEventSinks() > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    if (liveEventSinks() !== 0) throw new Error(`${liveEventSinks()} native objects still keep Node alive`)
  })
}

module.exports = { RS, JS, kindOf, freePort, destroyUnbound, bootstrapper, persistentNode, cleanup, addrKey, mixedNet, echoServer, tmpDir, nothingKeepsNodeAlive }
