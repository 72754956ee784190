'use strict'
// Shared helpers for the node --test suite. Every networked test runs inside the loopback-only
// namespace set up by scripts/netns.js (npm test), touches 127.0.0.1 only and destroys what it creates.
const fs = require('fs')
const os = require('os')
const path = require('path')
const RS = require('..')
const JS = require('hyperdht')

function kindOf (node) {
  return node instanceof RS ? 'rs' : 'js'
}

/** Creates a bootstrapper of the given kind on a free port. */
async function bootstrapper (Impl, opts = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000)
    const node = Impl.bootstrapper(port, '127.0.0.1', { host: '127.0.0.1', ...opts })
    try {
      await node.fullyBootstrapped()
      return node
    } catch (err) {
      await node.destroy().catch(() => {})
      if (attempt === 19) throw err
    }
  }
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

module.exports = { RS, JS, kindOf, bootstrapper, persistentNode, cleanup, addrKey, mixedNet, echoServer, tmpDir }
