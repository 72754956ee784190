'use strict'
// The hyperdht-rs command (bin/hyperdht-rs.js, lib/cli/): its upstream-compatible modes against
// JS hyperdht nodes and JS hyperdht's own `hyperdht` command, every subcommand through the real
// binary as a child process on a local testnet, and the interactive parts (status lines, stdin
// piping, Ctrl-C) on a real terminal in tmux. Networked: npm test runs it in the loopback netns.
// Every wait has a deadline; every child and tmux server is killed when its test ends.
const test = require('node:test')
const assert = require('node:assert')
const { spawn, execFileSync } = require('child_process')
const { once } = require('events')
const crypto = require('crypto')
const dgram = require('dgram')
const fs = require('fs')
const path = require('path')
const { RS, JS, tmpDir, echoServer, persistentNode, cleanup } = require('./helpers')
const createTestnet = require('../testnet')
const { COMMANDS } = require('../lib/cli')

const BIN = path.join(__dirname, '..', 'bin', 'hyperdht-rs.js')
const JS_BIN = path.join(__dirname, '..', 'node_modules', 'hyperdht', 'bin.js')
const WAIT = 20000 // ms any single expected output may take

const hex = (b) => b.toString('hex')

/** A spawned CLI process with its output collected; killed when the test ends. */
class Cli {
  constructor (t, args, { bin = BIN } = {}) {
    this.args = args
    this.stdout = ''
    this.stderr = ''
    this.child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdin.on('error', () => {}) // EPIPE when it exits first
    this._waiters = new Set()
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.status = { code, signal }
        resolve(this.status)
        this._check()
      })
    })
    this.status = null
    this.child.stdout.on('data', (d) => { this.stdout += d; this._check() })
    this.child.stderr.on('data', (d) => { this.stderr += d; this._check() })
    t.after(() => this.kill())
  }

  get output () {
    return this.stdout + this.stderr
  }

  _check () {
    for (const w of this._waiters) w()
  }

  /** Resolves with the first truthy `until(output)` (a RegExp matches); fails at the deadline or exit. */
  waitFor (until, ms = WAIT) {
    const test = typeof until === 'function' ? until : (s) => s.match(until)
    return new Promise((resolve, reject) => {
      const done = (err, v) => {
        clearTimeout(timer)
        this._waiters.delete(check)
        if (err) reject(err)
        else resolve(v)
      }
      const check = () => {
        const v = test(this.output)
        if (v) return done(null, v)
        if (this.status) done(new Error(`${this.describe()} exited (${JSON.stringify(this.status)}) before ${until}:\n${this.output}`))
      }
      const timer = setTimeout(() => done(new Error(`${this.describe()}: no ${until} within ${ms} ms:\n${this.output}`)), ms)
      this._waiters.add(check)
      check()
    })
  }

  async exit (ms = WAIT) {
    let timer
    const late = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.describe()} still running after ${ms} ms:\n${this.output}`)), ms)
    })
    try {
      return await Promise.race([this.exited, late])
    } finally {
      clearTimeout(timer)
    }
  }

  interrupt () {
    this.child.kill('SIGINT')
  }

  kill () {
    if (this.status === null) this.child.kill('SIGKILL')
  }

  describe () {
    return 'hyperdht-rs ' + this.args.join(' ')
  }
}

/** Runs the CLI to completion with `input` on stdin: { code, stdout, stderr }. */
async function run (t, args, { input = '', ms = WAIT } = {}) {
  const cli = new Cli(t, args)
  cli.child.stdin.end(input)
  const { code } = await cli.exit(ms)
  return { code, stdout: cli.stdout, stderr: cli.stderr }
}

/** A UDP port nothing is bound to right now. */
async function freePort () {
  const s = dgram.createSocket('udp4')
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** The last status line's total of received requests. */
function lastTotal (out) {
  const all = [...out.matchAll(/requests in [\d.]+\/s \((\d+) total\)/g)]
  return all.length ? Number(all[all.length - 1][1]) : null
}

async function lookupKeys (node, topic) {
  const keys = new Set()
  for await (const reply of node.lookup(topic)) for (const p of reply.peers) keys.add(hex(p.publicKey))
  return keys
}

/** A client node on the testnet, once bootstrapped. */
async function client (net) {
  const node = net.createNode()
  await node.fullyBootstrapped()
  return node
}

function seedKeyPair (seed) {
  return RS.keyPair(RS.hash(Buffer.from(seed)))
}

/** A tmux server of its own (socket in a temp dir), with panes that stay after their command exits. */
class Tmux {
  constructor (t) {
    this.pid = 0
    // registered before tmpDir's hook, so the server goes before its socket's directory
    t.after(() => this.kill())
    const dir = tmpDir(t)
    this.sock = path.join(dir, 'tmux.sock')
    this.conf = path.join(dir, 'tmux.conf')
    fs.writeFileSync(this.conf, 'set -g remain-on-exit on\nset -g history-limit 5000\n')
  }

  kill () {
    if (!this.pid) return
    try {
      this.tmux('kill-server') // SIGHUP to what still runs in the pane
    } catch {
      try {
        process.kill(this.pid, 'SIGKILL')
      } catch {}
    }
    this.pid = 0
  }

  tmux (...args) {
    return execFileSync('tmux', ['-S', this.sock, '-f', this.conf, ...args], { encoding: 'utf8', timeout: 5000 })
  }

  /**
   * Runs the CLI with `args` in a fresh 200x50 terminal, under a shell that prints its exit
   * status there (tmux 3.3a here sometimes never reaps a pane's exited process, so pane_dead
   * cannot be relied on). The shell traps SIGINT so Ctrl-C only reaches the CLI.
   */
  start (args) {
    const quote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'"
    const script = 'trap : INT; "$@"; echo "[exited $?]"'
    this.tmux('new-session', '-d', '-s', 'cli', '-x', '200', '-y', '50', ['sh', '-c', script, 'sh', process.execPath, BIN, ...args].map(quote).join(' '))
    this.pid = Number(this.tmux('display-message', '-p', '#{pid}'))
  }

  screen () {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'cli', '-S', '-')
  }

  keys (...keys) {
    this.tmux('send-keys', '-t', 'cli', ...keys)
  }

  /** Polls the screen until `until(screen)` is truthy (a RegExp matches), failing at the deadline. */
  async waitFor (until, ms = WAIT) {
    const test = typeof until === 'function' ? until : (s) => s.match(until)
    const deadline = Date.now() + ms
    for (;;) {
      const screen = this.screen()
      const v = test(screen)
      if (v) return v
      if (Date.now() > deadline) throw new Error(`terminal: no ${until} within ${ms} ms; screen:\n${screen}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** The CLI's exit status, once it has exited. */
  async exitStatus (ms = WAIT) {
    const [, status] = await this.waitFor(/^\[exited (\d+)\]$/m, ms)
    return Number(status)
  }
}

// The status line a terminal shows last (what is drawn in place at the bottom).
function lastLine (screen) {
  const lines = screen.split('\n').map((l) => l.trimEnd()).filter(Boolean)
  return lines[lines.length - 1] || ''
}

test('bootstrap mode (--bootstrap --host): JS hyperdht nodes bootstrap from it, announce and look up', { timeout: 60000 }, async (t) => {
  const port = await freePort()
  // an option upstream's bin does not know is ignored there (a wrapper's extra flag): here too
  const boot = new Cli(t, ['--bootstrap', '--host', '127.0.0.1', '--port', port, '--status', '0.2', '--frob', 'x'])
  await boot.waitFor(/Fully started Hyperswarm DHT bootstrap node/)
  assert.match(boot.stderr, /ignoring unknown option --frob/)
  assert.match(boot.stdout, /^Starting DHT bootstrap node\.\.\.\n/, 'upstream bin.js output lines')
  assert.match(boot.stdout, new RegExp(`Bootstrap node bound to .*port: ${port} }`))

  const bootstrap = [`127.0.0.1:${port}`]
  const nodes = []
  cleanup(t, nodes)
  for (let i = 0; i < 4; i++) nodes.push(persistentNode(JS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const a = new JS({ bootstrap, host: '127.0.0.1', port: 0 })
  const b = new JS({ bootstrap, host: '127.0.0.1', port: 0 })
  nodes.push(a, b)
  await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])

  const topic = JS.hash(Buffer.from('cli bootstrap test'))
  const keyPair = JS.keyPair()
  await a.announce(topic, keyPair).finished()
  const found = await lookupKeys(b, topic)
  assert.ok(found.has(hex(keyPair.publicKey)), 'a JS lookup finds the JS announce on the network our bootstrap node started')

  // its routing table took in the JS persistent nodes (status lines, not on a terminal: --status)
  await boot.waitFor((out) => [...out.matchAll(/routing table (\d+), persistent/g)].some((m) => Number(m[1]) >= 4))

  boot.interrupt()
  await boot.waitFor(/Bootstrap node closed/)
  assert.deepStrictEqual(await boot.exit(), { code: 0, signal: null })
})

test('JS hyperdht\'s own `hyperdht` command bootstraps its nodes from our bootstrap node', { timeout: 60000 }, async (t) => {
  const port = await freePort()
  const boot = new Cli(t, ['bootstrap', '--host', '127.0.0.1', '--port', port, '--status', '0.1'])
  await boot.waitFor(/Fully started Hyperswarm DHT bootstrap node/)
  // alone, the bootstrap node hears nothing: any request it counts later is from the JS command
  await boot.waitFor((out) => lastTotal(out) === 0)

  const js = new Cli(t, ['--bootstrap', `127.0.0.1:${port}`, '--nodes', '2'], { bin: JS_BIN })
  await js.waitFor(/Fully started 2 Hyperswarm DHT nodes/)
  assert.match(js.stdout, /Node #0 bound to[\s\S]*Node #1 bound to/)
  await boot.waitFor((out) => lastTotal(out) > 0)

  // (not SIGINT: upstream's bin.js installs its handler just after printing, so a prompt
  // SIGINT can still hit the default action)
  js.kill()
  await js.exit()
  boot.interrupt()
  assert.strictEqual((await boot.exit()).code, 0)
})

test('subcommands through the binary on a local testnet', { timeout: 240000 }, async (t) => {
  const net = await createTestnet(4)
  t.after(() => net.destroy())
  const B = `127.0.0.1:${net.bootstrap[0].port}`

  await t.test('keypair: --seed as string (hashed) or 64 hex (raw), --json, random without', async (t) => {
    const s = await run(t, ['keypair', '--seed', 'hello'])
    const kp = seedKeyPair('hello')
    assert.strictEqual(s.code, 0)
    assert.strictEqual(s.stdout, `publicKey ${hex(kp.publicKey)}\nsecretKey ${hex(kp.secretKey)}\n`)

    const seed = crypto.randomBytes(32)
    const j = await run(t, ['keypair', '--seed', hex(seed), '--json'])
    const raw = JS.keyPair(seed) // JS hyperdht makes the same pair from the raw seed
    assert.deepStrictEqual(JSON.parse(j.stdout), { publicKey: hex(raw.publicKey), secretKey: hex(raw.secretKey) })

    const [r1, r2] = await Promise.all([run(t, ['keypair', '--json']), run(t, ['keypair', '--json'])])
    const k1 = JSON.parse(r1.stdout)
    assert.match(k1.secretKey, /^[0-9a-f]{128}$/)
    assert.notStrictEqual(k1.publicKey, JSON.parse(r2.stdout).publicKey)
  })

  await t.test('bad arguments: a message naming the problem, exit code 2', async (t) => {
    const cases = [
      [['lookup'], /missing <topic>/],
      [['lookup', 'a', 'b'], /unexpected argument b/],
      [['lookup', ''], /the topic is empty/],
      [['lookup', 'x', '--frobnicate'], /unknown option --frobnicate/],
      [['lookup', 'x', '--bootstrap', 'nope'], /expected host:port, got "nope"/],
      [['lookup', 'x', '--timeout', '0'], /--timeout must be a number of seconds above 0/],
      [['ping', 'localhost'], /expected host:port/],
      [['ping', '127.0.0.1:70000'], /port must be a number from 1 to 65535/],
      [['ping', '127.0.0.1:1', '--count', 'many'], /--count must be a whole number/],
      [['connect', 'nothex'], /not a public key/],
      [['serve', '--port', 'x'], /--port must be a whole number from 0 to 65535/],
      [['serve', '--host', 'example.com'], /--host must be an IPv4 address/],
      [['serve', '--pipe=yes'], /--pipe takes no value/],
      [['keypair', '--seed'], /--seed needs a value/],
      [['announce', 'x', '--refresh', '0'], /--refresh must be a number of seconds above 0/],
      [['--bootstrap'], /You need to specify --host <node ip>/], // upstream's message
      [['--bootstrap', '--host', '0.0.0.0'], /not 0\.0\.0\.0/],
      [['--bootstrap', '--host', '127.0.0.1', '--nodes', '2'], /--nodes does not go with --bootstrap/],
      [['--nodes', '2', '--port', '5000'], /--port is only valid when running a single node/], // upstream's message
      [['--nodes', '0'], /--nodes must be a whole number from 1/],
      [['frob'], /unknown command "frob"/],
      [['help', 'frob'], /unknown command "frob"/]
    ]
    const results = await Promise.all(cases.map(([args]) => run(t, args)))
    results.forEach((r, i) => {
      const [args, message] = cases[i]
      assert.strictEqual(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
      assert.match(r.stderr, /Run 'hyperdht-rs (\w+ )?--help' for usage/)
      assert.strictEqual(r.stdout, '')
    })
  })

  await t.test('--help: the command list, every command\'s usage; topics documented as hashed', async (t) => {
    const top = await run(t, ['--help'])
    assert.strictEqual(top.code, 0)
    for (const name of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'))
    assert.match(top.stdout, /--bootstrap --host <ip>/)
    const helps = await Promise.all(COMMANDS.map((name) => run(t, [name, '--help'])))
    helps.forEach((h, i) => {
      assert.strictEqual(h.code, 0)
      assert.match(h.stdout, new RegExp(`^Usage: hyperdht-rs ${COMMANDS[i] === 'nodes' ? '\\[nodes\\]' : COMMANDS[i]}`))
    })
    for (const i of [COMMANDS.indexOf('lookup'), COMMANDS.indexOf('announce')]) {
      assert.match(helps[i].stdout, /64 hex characters is used as is; anything else is hashed: DHT\.hash\(Buffer\.from\(topic\)\)/)
    }
    assert.strictEqual((await run(t, ['help', 'serve'])).stdout, helps[COMMANDS.indexOf('serve')].stdout)
  })

  await t.test('announce stays announced, lookup (text or hex topic) finds it, SIGINT unannounces', async (t) => {
    const topic = RS.hash(Buffer.from('cli announce topic'))
    const pk = hex(seedKeyPair('announce seed').publicKey)
    const ann = new Cli(t, ['announce', 'cli announce topic', '--seed', 'announce seed', '--bootstrap', B])
    const [, n] = await ann.waitFor(/Announced to (\d+) nodes/)
    assert.ok(Number(n) >= 1)
    assert.match(ann.stdout, new RegExp(`^Announcing ${hex(topic)} as ${pk}\n`))

    const [byText, byHex] = await Promise.all([
      run(t, ['lookup', 'cli announce topic', '--bootstrap', B]),
      run(t, ['lookup', hex(topic), '--bootstrap', B])
    ])
    for (const r of [byText, byHex]) {
      assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual(r.stdout, pk + '\n')
      assert.match(r.stderr, /Found 1 peer \(\d+ nodes? had records\)/)
    }
    const node = await client(net)
    assert.ok((await lookupKeys(node, topic)).has(pk), 'an API lookup finds it too')

    ann.interrupt()
    await ann.waitFor(/Unannounced/)
    assert.deepStrictEqual(await ann.exit(), { code: 0, signal: null })
    const after = await run(t, ['lookup', hex(topic), '--bootstrap', B])
    assert.strictEqual(after.code, 0)
    assert.strictEqual(after.stdout, '', 'no peer left under the topic')
    assert.ok(!(await lookupKeys(node, topic)).has(pk))
  })

  await t.test('lookup --json shows relay addresses of a peer announced through the API', async (t) => {
    const node = await client(net)
    const topic = RS.hash(Buffer.from('cli relays'))
    const kp = RS.keyPair()
    await node.announce(topic, kp, [{ host: '127.0.0.1', port: 4242 }]).finished()
    const r = await run(t, ['lookup', 'cli relays', '--json', '--bootstrap', B])
    assert.strictEqual(r.code, 0, r.stderr)
    const peer = JSON.parse(r.stdout)
    assert.strictEqual(peer.publicKey, hex(kp.publicKey))
    assert.deepStrictEqual(peer.relayAddresses, ['127.0.0.1:4242'])
    assert.match(peer.from, /^127\.0\.0\.1:\d+$/)
    const text = await run(t, ['lookup', 'cli relays', '--bootstrap', B])
    assert.strictEqual(text.stdout, `${hex(kp.publicKey)} via 127.0.0.1:4242\n`)
  })

  await t.test('ping: id, round trip and our address; no reply exits 1', async (t) => {
    const target = net.nodes[1]
    const port = target.address().port
    const dead = await freePort()
    const [json, text, none, cut] = await Promise.all([
      run(t, ['ping', `127.0.0.1:${port}`, '--json', '--count', '2', '--interval', '0.1']),
      run(t, ['ping', `localhost:${port}`]),
      run(t, ['ping', `127.0.0.1:${dead}`]),
      run(t, ['ping', `127.0.0.1:${dead}`, '--timeout', '0.5'])
    ])
    assert.strictEqual(json.code, 0, json.stderr)
    const replies = json.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.strictEqual(replies.length, 2)
    for (const r of replies) {
      assert.deepStrictEqual([r.host, r.port, r.id], ['127.0.0.1', port, hex(target.id)])
      assert.strictEqual(typeof r.rtt, 'number')
      assert.match(r.seenAs, /^127\.0\.0\.1:\d+$/)
    }
    assert.strictEqual(text.code, 0, text.stderr)
    assert.match(text.stdout, new RegExp(`^pong from 127\\.0\\.0\\.1:${port} id ${hex(target.id)} time \\d+ ms, sees us at 127\\.0\\.0\\.1:\\d+\n$`))
    assert.strictEqual(none.code, 1)
    assert.match(none.stderr, new RegExp(`no reply from 127\\.0\\.0\\.1:${dead}: REQUEST_TIMEOUT`))
    assert.strictEqual(cut.code, 1)
    assert.strictEqual(cut.stderr, 'hyperdht-rs: timed out after 0.5s\n')
  })

  await t.test('serve echoes for connect (stdin -> stdout) and for JS hyperdht; connect reaches a JS server', async (t) => {
    const pk = hex(seedKeyPair('serve seed').publicKey)
    const serve = new Cli(t, ['serve', '--seed', 'serve seed', '--bootstrap', B])
    await serve.waitFor(new RegExp(`Listening on public key ${pk}\nConnect with: hyperdht-rs connect ${pk}\n`))

    const input = crypto.randomBytes(300000)
    const cli = new Cli(t, ['connect', pk, '--bootstrap', B])
    const chunks = []
    cli.child.stdout.removeAllListeners('data')
    cli.child.stdout.on('data', (d) => chunks.push(d))
    cli.child.stdin.end(input)
    assert.strictEqual((await cli.exit()).code, 0, cli.stderr)
    assert.ok(Buffer.concat(chunks).equals(input), 'echoed byte-exact')
    assert.match(cli.stderr, new RegExp(`^Connecting to ${pk}\\.\\.\\.\nConnected to ${pk} at 127\\.0\\.0\\.1:\\d+\n`))
    assert.match(cli.stderr, /Connection closed \(300000 bytes sent, 300000 received\)/)
    await serve.waitFor(/closed \(300000 bytes echoed\)/)

    // JS hyperdht's client against the CLI's server
    const jsNode = new JS({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })
    const nodes = [jsNode]
    cleanup(t, nodes)
    const conn = jsNode.connect(Buffer.from(pk, 'hex'))
    conn.on('error', () => {})
    conn.write('from JS hyperdht')
    const [echo] = await once(conn, 'data')
    assert.strictEqual(echo.toString(), 'from JS hyperdht')
    await serve.waitFor(new RegExp(`Connection from 127\\.0\\.0\\.1:\\d+ \\(public key ${hex(jsNode.defaultKeyPair.publicKey)}\\)`))
    conn.end()
    await once(conn, 'close')

    // the CLI's client against a JS hyperdht server
    const server = echoServer(jsNode)
    await server.listen(JS.keyPair())
    const r = await run(t, ['connect', hex(server.publicKey), '--bootstrap', B], { input: 'to a JS server\n' })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(r.stdout, 'to a JS server\n')

    const unknown = await run(t, ['connect', hex(RS.keyPair().publicKey), '--bootstrap', B])
    assert.strictEqual(unknown.code, 1)
    assert.match(unknown.stderr, /could not connect: PEER_NOT_FOUND/)

    serve.interrupt()
    assert.strictEqual((await serve.exit()).code, 0)
  })

  await t.test('serve --pipe joins one connection to stdin/stdout and refuses others meanwhile', async (t) => {
    const pk = hex(seedKeyPair('pipe seed').publicKey)
    const server = new Cli(t, ['serve', '--pipe', '--seed', 'pipe seed', '--bootstrap', B])
    await server.waitFor(new RegExp(`Listening on public key ${pk}`))
    assert.strictEqual(server.stdout, '', 'messages go to stderr, stdout is the data')

    const client = new Cli(t, ['connect', pk, '--bootstrap', B])
    await client.waitFor(/Connected to/)
    client.child.stdin.write('to the server\n')
    await server.waitFor(() => server.stdout === 'to the server\n')
    server.child.stdin.write('to the client\n')
    await client.waitFor(() => client.stdout === 'to the client\n')

    const other = await run(t, ['connect', pk, '--bootstrap', B], { input: 'ignored\n' })
    await server.waitFor(/Refused a connection from 127\.0\.0\.1:\d+: already piping one/)
    assert.strictEqual(other.stdout, '')

    client.child.stdin.end() // ends the client's side; the server ends its side and both exit
    assert.strictEqual((await client.exit()).code, 0, client.stderr)
    assert.strictEqual((await server.exit()).code, 0, server.stderr)
    assert.strictEqual(server.stdout, 'to the server\n')
    assert.match(server.stderr, /Connection closed \(14 bytes sent, 14 received\)/)
  })

  await t.test('nat: firewalled verdict, NAT class and where the nodes see us', async (t) => {
    const [json, text] = await Promise.all([
      run(t, ['nat', '--json', '--bootstrap', B]),
      run(t, ['nat', '--bootstrap', B])
    ])
    assert.strictEqual(json.code, 0, json.stderr)
    const r = JSON.parse(json.stdout)
    assert.strictEqual(typeof r.firewalled, 'boolean')
    assert.ok(r.samples.length >= 3, `enough nodes answered: ${json.stdout}`)
    const seen = new Set(r.samples.map((s) => s.seenAs))
    assert.strictEqual(seen.size, 1, 'every node sees the same address (no NAT on loopback)')
    assert.match([...seen][0], /^127\.0\.0\.1:\d+$/)
    // on loopback nothing rewrites ports: OPEN when reachable, else CONSISTENT
    assert.strictEqual(r.nat, r.firewalled ? 'CONSISTENT' : 'OPEN')
    assert.deepStrictEqual(r.addresses, [...seen])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.match(text.stdout, /^firewalled: (yes|no)\nnat: (OPEN|CONSISTENT) \(\d+ of \d+ nodes answered\)\naddresses: 127\.0\.0\.1:\d+\nsamples:\n( {2}127\.0\.0\.1:\d+ sees us at 127\.0\.0\.1:\d+\n)+dht address: /)
  })

  await t.test('nodes mode (upstream flags): --persistent nodes answer with ids, --node is ephemeral; SIGINT shuts down', async (t) => {
    const persistent = new Cli(t, ['--bootstrap', B, '--nodes', '2', '--persistent', '--host', '127.0.0.1'])
    const single = new Cli(t, ['--bootstrap', B, '--node', '--host', '127.0.0.1'])
    await persistent.waitFor(/Fully started 2 Hyperswarm DHT nodes/)
    await single.waitFor(/Fully started 1 Hyperswarm DHT node\n/)
    assert.match(persistent.stdout, /^Booting DHT nodes\.\.\.\n/)
    const ports = [...persistent.stdout.matchAll(/Node #\d bound to \{[^}]*port: (\d+)/g)].map((m) => Number(m[1]))
    const [, singlePort] = single.stdout.match(/Node #0 bound to \{[^}]*port: (\d+)/)
    assert.strictEqual(ports.length, 2)
    const node = await client(net)
    for (const port of ports) {
      const r = await node.ping({ host: '127.0.0.1', port })
      assert.ok(r.from.id, 'a persistent node has an id')
    }
    const r = await node.ping({ host: '127.0.0.1', port: Number(singlePort) })
    assert.strictEqual(r.from.id, null, 'a fresh adaptive node is ephemeral')

    persistent.interrupt()
    single.interrupt()
    await persistent.waitFor(/Shutting down nodes\.\.\.\n(Node #[01] closed\n){2}/)
    assert.strictEqual((await persistent.exit()).code, 0)
    assert.strictEqual((await single.exit()).code, 0)
  })
})

test('on a terminal (tmux): status lines, connect piping typed input, Ctrl-C', { timeout: 240000 }, async (t) => {
  execFileSync('tmux', ['-V'], { timeout: 5000 }) // .ci/run installs tmux
  const net = await createTestnet(4)
  t.after(() => net.destroy())
  const B = `127.0.0.1:${net.bootstrap[0].port}`
  const STATUS = /status: routing table (\d+), ephemeral, requests in [\d.]+\/s \((\d+) total\), out [\d.]+\/s, (\d+) connections open$/

  await t.test('serve: a live status line counts open connections', async (t) => {
    const tty = new Tmux(t)
    const pk = hex(seedKeyPair('tty serve').publicKey)
    tty.start(['serve', '--seed', 'tty serve', '--bootstrap', B])
    await tty.waitFor(new RegExp(`Listening on public key ${pk}`))
    const [, table, , open] = await tty.waitFor((s) => lastLine(s).match(STATUS))
    assert.ok(Number(table) >= 1, 'the routing table is filled')
    assert.strictEqual(open, '0')

    const node = await client(net)
    const conn = node.connect(Buffer.from(pk, 'hex'))
    conn.on('error', () => {})
    await once(conn, 'open')
    await tty.waitFor((s) => /Connection from 127\.0\.0\.1:\d+/.test(s) && lastLine(s).match(STATUS)?.[3] === '1')
    conn.end()
    await tty.waitFor((s) => /closed \(0 bytes echoed\)/.test(s) && lastLine(s).match(STATUS)?.[3] === '0')

    tty.keys('C-c')
    assert.strictEqual(await tty.exitStatus(), 0)
  })

  await t.test('connect: typed lines go to the server, its data comes back, Ctrl-D closes', async (t) => {
    const tty = new Tmux(t)
    const pk = hex(seedKeyPair('tty pipe').publicKey)
    const server = new Cli(t, ['serve', '--pipe', '--seed', 'tty pipe', '--bootstrap', B])
    await server.waitFor(/Listening on public key/)
    tty.start(['connect', pk, '--bootstrap', B])
    await tty.waitFor(/Connected to [0-9a-f]{64} at 127\.0\.0\.1:\d+/)

    tty.keys('typed on a terminal', 'Enter')
    await server.waitFor(() => server.stdout === 'typed on a terminal\n')
    server.child.stdin.write('sent by the server\n')
    await tty.waitFor(/^sent by the server$/m)

    tty.keys('C-d')
    assert.strictEqual(await tty.exitStatus(), 0)
    assert.match(tty.screen(), /Connection closed \(20 bytes sent, 19 received\)/)
    assert.strictEqual((await server.exit()).code, 0)
  })

  await t.test('nodes: status lines while they run, Ctrl-C shuts them down', async (t) => {
    const tty = new Tmux(t)
    tty.start(['--bootstrap', B, '--nodes', '2', '--host', '127.0.0.1'])
    await tty.waitFor(/Fully started 2 Hyperswarm DHT nodes/)
    await tty.waitFor((s) => lastLine(s).match(/^status: 2 nodes \(0 persistent\), routing tables \d+\.\.\d+, requests in [\d.]+\/s \(\d+ total\), out [\d.]+\/s$/))
    tty.keys('C-c')
    assert.strictEqual(await tty.exitStatus(), 0)
    assert.match(tty.screen(), /Shutting down nodes\.\.\.\n(Node #[01] closed\n){2}/)
  })

  await t.test('announce: announced until Ctrl-C, which unannounces', async (t) => {
    const tty = new Tmux(t)
    const pk = hex(seedKeyPair('tty announce').publicKey)
    tty.start(['announce', 'tty topic', '--seed', 'tty announce', '--bootstrap', B])
    await tty.waitFor(/Announced to \d+ nodes; Ctrl-C unannounces and exits/)
    await tty.waitFor((s) => lastLine(s).startsWith('status: routing table'))
    const node = await client(net)
    const topic = RS.hash(Buffer.from('tty topic'))
    assert.ok((await lookupKeys(node, topic)).has(pk))

    tty.keys('C-c')
    assert.strictEqual(await tty.exitStatus(), 0)
    assert.match(tty.screen(), /Unannouncing\.\.\.\nUnannounced/)
    assert.ok(!(await lookupKeys(node, topic)).has(pk), 'gone after Ctrl-C')
  })
})
