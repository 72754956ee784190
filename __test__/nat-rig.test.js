'use strict'
// The real-kernel NAT rig (scripts/nat-rig): each NAT kind behaves as specified at the kernel
// level, then JS→JS and rs→rs connect through it with a byte-exact 1 MiB echo. The full matrix is
// bench/nat-matrix.js. Skips (loudly) only when the kernel or its tools cannot run the rig.
const test = require('node:test')
const assert = require('node:assert')
const { createRig } = require('../scripts/nat-rig')
const { runCell } = require('../scripts/nat-rig/cell')
const { kernelProblem } = require('../scripts/nat-rig/kernel-check')

const PORT = 40000 // the peer-side probe's local port
const PUBLIC_PORT = 7001
const MiB = 1024 * 1024

test('NAT rig', { timeout: 720_000 }, async (t) => {
  const problem = await kernelProblem()
  if (problem) {
    t.skip('the kernel/tools cannot run the NAT rig: ' + problem)
    return
  }
  const rig = await createRig({
    relay: true,
    slots: [['client', 'open'], ['client', 'firewalled'], ['client', 'consistent'], ['client', 'random'], ['server', 'consistent'], ['server', 'random']],
    // a client and a server on one LAN behind one router (no hairpinning, as Linux NATs by default)
    sharedLans: ['consistent', 'random']
  })
  const children = []
  const probe = async (ns, port, name) => {
    const p = rig.start(ns, 'udp-probe.js', [String(port)], name)
    children.push(p)
    await p.waitFor('ready', 10_000)
    return p
  }
  const recv = (p, msg) => p.lines.waitFor((l) => l.event === 'recv' && l.msg === msg, 5000, `datagram "${msg}"`)
  const dhtNs = rig.topo.namespaces.find((ns) => ns.name === 'dht')
  try {
    // two public destinations with different addresses (two of the DHT namespace's), one socket
    const pub = await probe(dhtNs, PUBLIC_PORT, 'public')
    const dst = rig.dhtNodes.slice(0, 3).map((a) => a.split(':')[0])
    let n = 0
    const observed = async (peer, dest) => {
      const msg = `m${n++}`
      peer.send({ host: dest, port: PUBLIC_PORT, msg })
      const l = await recv(pub, msg)
      return { host: l.host, port: l.port }
    }

    await t.test('consistent: masquerade keeps the port, the same towards every destination', async () => {
      rig.resetNat()
      const s = rig.slot('client', 'consistent')
      const peer = await probe(s.peer, PORT, 'consistent-peer')
      for (const d of dst) assert.deepStrictEqual(await observed(peer, d), { host: s.addr.wan, port: PORT })
      await peer.stop()
    })

    await t.test('random: masquerade fully-random maps each destination to its own port', async () => {
      rig.resetNat()
      const s = rig.slot('client', 'random')
      const peer = await probe(s.peer, PORT, 'random-peer')
      const seen = []
      for (const d of dst) seen.push(await observed(peer, d))
      for (const o of seen) assert.strictEqual(o.host, s.addr.wan)
      const ports = new Set(seen.map((o) => o.port))
      assert.ok(ports.size >= 2, 'ports ' + [...ports].join(','))
      await peer.stop()
    })

    await t.test('firewalled: the peer\'s public address, untranslated', async () => {
      rig.resetNat()
      const s = rig.slot('client', 'firewalled')
      const peer = await probe(s.peer, PORT, 'firewalled-peer')
      for (const d of dst) assert.deepStrictEqual(await observed(peer, d), { host: s.addr.peer, port: PORT })
      await peer.stop()
    })

    for (const kind of ['open', 'firewalled', 'consistent', 'random']) {
      const dropped = kind !== 'open'
      await t.test(`${kind}: unsolicited inbound ${dropped ? 'dropped, solicited replies pass' : 'delivered'}`, async () => {
        rig.resetNat()
        const s = rig.slot('client', kind)
        const peer = await probe(s.peer, PORT, `${kind}-peer`)
        // unsolicited first, at the address:port the peer is reachable on if anything is
        const target = kind === 'open' || kind === 'firewalled' ? s.addr.peer : s.addr.wan
        pub.send({ host: target, port: PORT, msg: `unsolicited-${kind}` })
        await pub.lines.waitFor((l) => l.event === 'sent' && l.msg === `unsolicited-${kind}`, 5000, 'send confirmation')
        // then the peer opens the flow and the public side answers on the same path: the answer
        // arriving bounds the wait (the unsolicited datagram went the same way before it)
        const out = await observed(peer, dst[0])
        pub.send({ host: out.host, port: out.port, msg: `reply-${kind}` })
        await recv(peer, `reply-${kind}`)
        const got = peer.all('recv').some((l) => l.msg === `unsolicited-${kind}`)
        assert.strictEqual(got, !dropped, dropped ? 'unsolicited datagram reached the peer' : 'open peer missed a datagram')
        // the lesson behind dropping in `input`: an unsolicited packet must not take the port
        if (kind === 'consistent') assert.deepStrictEqual(out, { host: s.addr.wan, port: PORT })
        await peer.stop()
      })
    }
    await pub.stop()

    // What a node concludes about itself behind each kind (NAT sampling, firewall check): the
    // same as JS hyperdht in the same place
    for (const kind of ['firewalled', 'consistent', 'random']) {
      await t.test(`${kind}: a Rust node knows what a JS node knows about itself (firewalled, host, port, randomized)`, async () => {
        const seen = {}
        for (const impl of ['js', 'rs']) {
          rig.resetNat()
          const p = rig.start(rig.slot('client', kind).peer, 'self-report.js', [JSON.stringify({ impl, bootstrap: rig.bootstrap })], `self(${impl},${kind})`)
          children.push(p)
          const { event, ...self } = await p.waitFor('self', 30_000)
          seen[impl] = self
          await p.stop()
        }
        assert.deepStrictEqual(seen.rs, seen.js)
        assert.strictEqual(seen.js.firewalled, true)
        assert.strictEqual(seen.js.randomized, kind === 'random')
      })
    }

    // Two peers behind the same NAT (one home network): they share a public IP, and the only way
    // between them is the LAN (the router does not hairpin). The server shares its interface
    // addresses in its handshake (`shareLocalAddress`), the client its own (`localConnection`),
    // and the client pings the server's matching LAN address and connects there. Every pairing;
    // Rust reports the path as `lan`, JS as a direct connection.
    for (const kind of ['consistent', 'random']) {
      for (const [clientImpl, serverImpl] of [['js', 'js'], ['rs', 'rs'], ['rs', 'js'], ['js', 'rs']]) {
        await t.test(`${clientImpl}→${serverImpl} both behind one ${kind} NAT: connects over the LAN, 1 MiB echo byte-exact`, async () => {
          const r = await runCell(rig, { clientImpl, serverImpl, clientKind: `lan-${kind}`, serverKind: `lan-${kind}`, bytes: MiB, timeoutMs: 20_000 })
          const summary = JSON.stringify({ error: r.error, path: r.path, clientPath: r.clientPath, serverPath: r.serverPath, remote: r.remote })
          assert.strictEqual(r.connected, true, summary)
          assert.strictEqual(r.echoOk, true, summary)
          assert.strictEqual(r.bytesEchoed, MiB, summary)
          assert.strictEqual(r.remote.host, rig.slot('server', `lan-${kind}`).addr.peer, 'the client reached the server at its LAN address: ' + summary)
          const expected = { js: 'direct', rs: 'lan' }
          assert.deepStrictEqual([r.clientPath, r.serverPath], [expected[clientImpl], expected[serverImpl]], summary)
        })
      }
    }

    // Hyperswarm on top (scripts/nat-rig/swarm-peer.js): the server joins a topic, the client
    // joins it as a client and connects through the relay addresses the topic lookup returned, not
    // a findPeer; both behind CONSISTENT NATs (holepunched), and both behind one NAT (LAN)
    for (const [clientKind, serverKind, expected] of [['consistent', 'consistent', 'holepunched'], ['lan-consistent', 'lan-consistent', null]]) {
      for (const [clientImpl, serverImpl] of [['js', 'js'], ['rs', 'rs'], ['rs', 'js'], ['js', 'rs']]) {
        await t.test(`hyperswarm ${clientImpl}→${serverImpl} ${clientKind}→${serverKind}: the topic's peer connects, 1 MiB echo byte-exact`, async () => {
          const r = await runCell(rig, { swarm: true, clientImpl, serverImpl, clientKind, serverKind, bytes: MiB, timeoutMs: 20_000 })
          const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs, remote: r.remote })
          assert.strictEqual(r.connected, true, summary)
          assert.strictEqual(r.remoteIsServer, true, 'connected to the server\'s swarm key: ' + summary)
          assert.strictEqual(r.echoOk, true, summary)
          assert.strictEqual(r.bytesEchoed, MiB, summary)
          if (expected) assert.strictEqual(r.path, expected, summary)
          else assert.strictEqual(r.remote.host, rig.slot('server', serverKind).addr.peer, 'over the LAN: ' + summary)
        })
      }
    }

    for (const impl of ['js', 'rs']) {
      for (const clientKind of ['open', 'consistent']) {
        await t.test(`${impl}→${impl} ${clientKind}→consistent: connects, 1 MiB echo byte-exact`, async () => {
          const r = await runCell(rig, { clientImpl: impl, serverImpl: impl, clientKind, serverKind: 'consistent', bytes: MiB, timeoutMs: 20_000 })
          const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs })
          assert.strictEqual(r.connected, true, summary)
          assert.strictEqual(r.bytesEchoed, MiB, summary)
          assert.strictEqual(r.echoOk, true, summary)
          assert.strictEqual(r.serverSelf.firewalled, true, 'a server behind NAT knows it is firewalled')
          if (clientKind === 'open') {
            assert.strictEqual(r.clientSelf.firewalled, false, 'the open client found out it is open')
            assert.strictEqual(r.path, 'direct', summary)
          } else {
            assert.strictEqual(r.path, 'holepunched', summary)
          }
        })
      }
    }
    // RANDOM NATs (per-destination ports): the consistent side probes random ports, the random
    // side opens birthday sockets. Luck-bound (~1-10 s, JS the same): one connect each way, Rust
    // at both ends, and Rust serving a JS client (fresh peers per cell, so each node's
    // one-random-punch-per-20 s budget is unspent).
    for (const [clientImpl, serverImpl, clientKind, serverKind] of [
      ['rs', 'rs', 'consistent', 'random'],
      ['rs', 'rs', 'random', 'consistent'],
      ['js', 'rs', 'consistent', 'random']
    ]) {
      await t.test(`${clientImpl}→${serverImpl} ${clientKind}→${serverKind}: holepunches, 1 MiB echo byte-exact`, async () => {
        const r = await runCell(rig, { clientImpl, serverImpl, clientKind, serverKind, bytes: MiB, timeoutMs: 50_000 })
        const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs, saw: r.clientSaw, bytesEchoed: r.bytesEchoed, remote: r.remote, clientLocalPort: r.clientLocalPort, serverPath: r.serverPath, serverRemoteAtEnd: r.serverRemoteAtEnd, clientSelf: r.clientSelf })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(r.path, 'holepunched', summary)
        assert.strictEqual(r.echoOk, true, summary)
        assert.strictEqual(r.bytesEchoed, MiB, summary)
        assert.deepStrictEqual(r.clientSaw, { remoteFirewall: serverKind, localFirewall: clientKind }, 'the client\'s veto saw both NAT classes')
      })
    }
    // RANDOM on both sides: no punch (HOLEPUNCH_ABORTED, as a JS client reports it); with
    // `relayThrough` the rig's blind relay (npm blind-relay on JS hyperdht) pairs them
    for (const [clientImpl, serverImpl] of [['rs', 'rs'], ['js', 'rs'], ['rs', 'js']]) {
      await t.test(`${clientImpl}→${serverImpl} random→random: fails without a relay, relays with relayThrough`, async () => {
        const alone = await runCell(rig, { clientImpl, serverImpl, clientKind: 'random', serverKind: 'random', bytes: 1024, timeoutMs: 20_000 })
        assert.strictEqual(alone.connected, false, JSON.stringify(alone))
        assert.strictEqual(alone.error, 'HOLEPUNCH_ABORTED')
        const r = await runCell(rig, { clientImpl, serverImpl, clientKind: 'random', serverKind: 'random', relayThrough: true, bytes: MiB, timeoutMs: 20_000 })
        const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(r.path, 'relayed', summary)
        assert.strictEqual(r.echoOk, true, summary)
        assert.strictEqual(r.bytesEchoed, MiB, summary)
      })
    }
    // a relayed connection between a RANDOM-NAT side and a CONSISTENT one keeps punching and
    // moves to the direct path: both ends' streams leave the relay (and their `rawStream` emits
    // `remote-changed` once), then 1 MiB echoes byte-exact on the new path. The Rust side behind
    // the RANDOM NAT, server or client, moves its live UDX stream onto the birthday socket the
    // punch got through (upstream: changeRemote onto that pool socket), against Rust and JS
    // peers; every relay stays until the packets sent through it before the switch arrived
    // (libudx retransmits them that way).
    for (const [clientImpl, serverImpl, clientKind, serverKind] of [
      ['rs', 'rs', 'consistent', 'random'],
      ['rs', 'rs', 'random', 'consistent'],
      ['js', 'rs', 'consistent', 'random'],
      ['rs', 'js', 'random', 'consistent'],
      ['js', 'rs', 'random', 'consistent']
    ]) {
      await t.test(`${clientImpl}→${serverImpl} ${clientKind}→${serverKind} relayThrough: opens relayed, upgrades to direct, 1 MiB echo byte-exact`, async (tt) => {
        const cell = { clientImpl, serverImpl, clientKind, serverKind, relayThrough: true, upgradeWaitMs: 40_000, bytes: MiB, timeoutMs: 60_000 }
        let r = await runCell(rig, cell)
        if (r.connected && r.upgradeMs === null && clientImpl === 'js' && clientKind === 'random') {
          // a JS client behind the RANDOM NAT opens upstream's 256 birthday sockets: its punch
          // is luck-bound and now and then runs out (JS<->JS on this rig as well), and
          // upstream does not punch again on that connection; one fresh cell more
          tt.diagnostic('the JS birthday punch ran out; one more cell')
          r = await runCell(rig, cell)
        }
        const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs, upgradeMs: r.upgradeMs, client: r.clientRemoteAfter, server: r.serverRemoteAtEnd })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(r.path, 'relayed', summary)
        assert.notStrictEqual(r.upgradeMs, null, 'the client left the relay: ' + summary)
        assert.notStrictEqual(r.clientRemoteAfter.host, rig.relay.host, summary)
        assert.ok(r.serverRemoteAtEnd && r.serverRemoteAtEnd.host !== rig.relay.host, 'the server left the relay: ' + summary)
        // udx-native's `remote-changed` on `rawStream`, once per end (JS<->JS on this rig: once each)
        assert.deepStrictEqual([r.clientRemoteChanged, r.serverRemoteChanged], [1, 1], 'rawStream remote-changed: ' + summary)
        assert.strictEqual(r.echoOk, true, summary)
        assert.strictEqual(r.bytesEchoed, MiB, summary)
      })
    }
    // upstream 6.33's "relay connection upgrades to direct connection" without keepalives: an idle
    // relayed connection (connectionKeepAlive: false on every peer) still leaves the relay once the
    // punch gets through, and echoes on the direct path
    for (const [clientImpl, serverImpl] of [['rs', 'rs'], ['rs', 'js'], ['js', 'rs']]) {
      await t.test(`${clientImpl}→${serverImpl} random→consistent relayThrough, no keepalives: idle, upgrades to direct, 1 MiB echo byte-exact`, async () => {
        const r = await runCell(rig, { clientImpl, serverImpl, clientKind: 'random', serverKind: 'consistent', relayThrough: true, connectionKeepAlive: false, upgradeWaitMs: 40_000, bytes: MiB, timeoutMs: 60_000 })
        const summary = JSON.stringify({ error: r.error, path: r.path, upgradeMs: r.upgradeMs, client: r.clientRemoteAfter, server: r.serverRemoteAtEnd })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(r.path, 'relayed', summary)
        assert.notStrictEqual(r.upgradeMs, null, 'the client left the relay: ' + summary)
        assert.ok(r.serverRemoteAtEnd && r.serverRemoteAtEnd.host !== rig.relay.host, 'the server left the relay: ' + summary)
        assert.deepStrictEqual([r.clientRemoteChanged, r.serverRemoteChanged], [1, 1], summary)
        assert.strictEqual(r.echoOk, true, summary)
      })
    }
    // upstream's `tryLater` loop: a node starts one RANDOM-NAT punch at a time, 20 s after the
    // last. A second relayed connection made right after the first finds the budget spent (the
    // server's: TRY_LATER in a normal reply; the client's own: a round that does not punch),
    // stays relayed and asks again 10-20 s later until it may punch, then upgrades (JS<->JS on
    // this rig: 37-42 s). Our server answering a JS client's loop, our client's loop against
    // Rust and JS servers.
    for (const [clientImpl, serverImpl, clientKind, serverKind] of [
      ['rs', 'rs', 'consistent', 'random'],
      ['js', 'rs', 'consistent', 'random'],
      ['rs', 'js', 'random', 'consistent']
    ]) {
      await t.test(`${clientImpl}→${serverImpl} ${clientKind}→${serverKind} relayThrough, two connections: the second waits for the punch budget, then upgrades`, async () => {
        const r = await runCell(rig, { clientImpl, serverImpl, clientKind, serverKind, relayThrough: true, connections: 2, upgradeWaitMs: 70_000, bytes: 256 * 1024, timeoutMs: 90_000 })
        const second = (r.more || [])[0] || {}
        const punches = { client: r.clientSelf && r.clientSelf.punches, server: (r.serverMore || []).map((m) => m.self && m.self.punches) }
        const summary = JSON.stringify({ error: r.error, upgradeMs: r.upgradeMs, second: { error: second.error, upgradeMs: second.upgradeMs, remote: second.remoteAfter }, punches })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(second.connected, true, summary)
        assert.notStrictEqual(r.upgradeMs, null, 'the first connection left the relay: ' + summary)
        assert.notStrictEqual(second.upgradeMs, null, 'the second connection left the relay: ' + summary)
        assert.ok(second.upgradeMs >= 10_000, 'the second punch waited for the budget: ' + summary)
        assert.notStrictEqual(second.remoteAfter.host, rig.relay.host, summary)
        const serverEnds = [r.serverRemoteAtEnd, ...(r.serverMore || []).map((m) => m.remoteAtEnd)]
        assert.strictEqual(serverEnds.length, 2, summary)
        for (const end of serverEnds) assert.ok(end && end.host !== rig.relay.host, 'the server left the relay: ' + JSON.stringify(serverEnds))
        assert.strictEqual(r.echoOk && second.echoOk, true, summary)
        assert.strictEqual(second.bytesEchoed, 256 * 1024, summary)
      })
    }
    // Idle connections behind NATs whose UDP mappings expire fast (3 s unreplied, 6 s after
    // traffic both ways; Linux defaults 30 / 120 s): after 14 s with no app data, only the
    // connection keepalives (5 s, hyperdht's connectionKeepAlive) kept both NATs' mappings and
    // pinholes, and the echo still goes through. Last, as the short timeouts would break the
    // RANDOM-NAT punches above (birthday mappings are refreshed every ~20 s).
    rig.setUdpTimeouts(3, 6)
    for (const [clientImpl, serverImpl] of [['rs', 'rs'], ['rs', 'js'], ['js', 'rs']]) {
      await t.test(`${clientImpl}→${serverImpl} consistent→consistent, idle 14 s with 3/6 s NAT timeouts: keepalives hold the path, 1 MiB echo byte-exact`, async () => {
        const r = await runCell(rig, { clientImpl, serverImpl, clientKind: 'consistent', serverKind: 'consistent', idleMs: 14_000, bytes: MiB, timeoutMs: 40_000 })
        const summary = JSON.stringify({ error: r.error, path: r.path, openMs: r.openMs, echoMs: r.echoMs })
        assert.strictEqual(r.connected, true, summary)
        assert.strictEqual(r.path, 'holepunched', summary)
        assert.strictEqual(r.echoOk, true, summary)
        assert.strictEqual(r.bytesEchoed, MiB, summary)
      })
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    await rig.destroy()
  }
})
