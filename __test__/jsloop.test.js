'use strict'
// Issue 16: unless HYPERDHT_RS_JSLOOP=0 the DHT server socket is read on the JS thread (a uv_poll
// in the Node event loop, src/uvloop.rs) and connections deliver their data from there, calling
// the JS callback directly (src/jsloop.rs, src/server_recv.rs). Each case runs in a child
// process (the switch is read once per process) that must exit by itself when done.
const test = require('node:test')
const assert = require('node:assert')
const path = require('path')
const { execFile } = require('child_process')

function child (mode, jsloop = '1', timeout = 60000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'fixtures', 'jsloop-child.js'), mode], {
      env: { ...process.env, HYPERDHT_RS_JSLOOP: jsloop },
      timeout
    }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`child ${mode} failed (${err.signal || err.code}): ${stderr}`))
      const line = stdout.trim().split('\n').pop()
      resolve(JSON.parse(line))
    })
  })
}

test('jsloop: echoes byte-exact, open before data, no tokio worker wakes per round trip', async () => {
  const out = await child('echo')
  for (const name of ['rs-rs', 'js-rs', 'rs-js']) {
    assert.deepStrictEqual(out[name].order, ['open', 'data'], name)
    // measured 0.03-0.05 (the timer driver's occasional RTO wake); the tokio path takes 2.7-5
    assert.ok(out[name].workerSwitchesPerRoundTrip < 0.5, `${name}: ${out[name].workerSwitchesPerRoundTrip} tokio switches per round trip`)
  }
})

test('jsloop: an exception thrown by a data handler is an uncaughtException, the socket is still read', async () => {
  const out = await child('throw')
  assert.deepStrictEqual(out, { caught: true, after: 'echoed' })
})

test('jsloop: promises started in a data handler settle (microtasks run after a direct delivery)', async () => {
  const out = await child('microtask')
  assert.deepStrictEqual(out, { settled: true })
})

test('jsloop: small messages share slabs, none is overwritten, a slab JS detached is replaced', async () => {
  const out = await child('slab')
  assert.deepStrictEqual(out.slab, { same: 600, total: 600, sharedSlabs: true, detached: true })
})

test('jsloop: 8 busy connections with pausing readers get every message intact and in order', async () => {
  const out = await child('mixed')
  assert.deepStrictEqual(out.mixed, { intact: 8 })
})

test('jsloop: 500 back-to-back 8 MiB echoes without keep-alives all complete (no lost writer wake-up)', async () => {
  const out = await child('bulk-echo', '1', 180000)
  assert.deepStrictEqual(out.bulkEcho, { echoed: 500 })
})

test('jsloop: a worker thread exiting with connections open closes its polls (no abort)', async () => {
  const out = await child('worker')
  assert.deepStrictEqual(out, { workerExit: 0 })
})

test('HYPERDHT_RS_JSLOOP=0: the tokio receive path still echoes, open before data', async () => {
  const out = await child('echo', '0')
  for (const name of ['rs-rs', 'js-rs', 'rs-js']) {
    assert.deepStrictEqual(out[name].order, ['open', 'data'], name)
    // there the workers receive and deliver: they do wake per round trip (2.7-5 measured)
    assert.ok(out[name].workerSwitchesPerRoundTrip > 0.5, `${name}: ${out[name].workerSwitchesPerRoundTrip}`)
  }
})
