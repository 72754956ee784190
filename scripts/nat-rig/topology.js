'use strict'
// Builds the rig's namespaces and links (see README.md for the picture):
//   inet    the public segment: bridge br0 (198.18.0.1/15), and the router for firewalled peers'
//           routed 203.0.113.x/30 networks
//   dht     the public DHT nodes, one address each (198.18.1.x)
//   relay   a blind relay (198.18.2.1)
//   per slot: `open` = a peer namespace on the bridge; otherwise a router namespace (wan on the
//           bridge, nft rules of its kind) and a peer namespace behind it (lan)
const Netns = require('./netns')
const { ruleset } = require('./nat-rules')
const A = require('./addresses')
const { run } = require('./exec')

class Topology {
  constructor () {
    this.inet = null
    this.namespaces = []
    this._veth = 0
  }

  async ns (name) {
    const ns = await Netns.create(name)
    this.namespaces.push(ns)
    return ns
  }

  async buildPublic () {
    this.inet = await this.ns('inet')
    this.inet.ip([
      'link add br0 type bridge',
      `addr add ${A.GATEWAY}/${A.PREFIX} dev br0`,
      'link set br0 up'
    ])
    this.inet.sysctl('net.ipv4.ip_forward', 1)
    // hosts on the bridge route 203.0.113.x through us and then straight to the firewall router
    // (same segment): that is fine, but no ICMP redirects about it
    this.inet.sysctl('net.ipv4.conf.all.send_redirects', 0)
    this.inet.sysctl('net.ipv4.conf.br0.send_redirects', 0)
  }

  /** A veth from the bridge into `ns` named `ifname`, with `addrs` (first one primary). */
  attach (ns, ifname, addrs) {
    const v = `v${this._veth++}`
    this.inet.ip([
      `link add ${v} type veth peer name ${ifname} netns ${ns.pid}`,
      `link set ${v} master br0`,
      `link set ${v} up`
    ])
    ns.ip([
      ...addrs.map((a) => `addr add ${a}/${A.PREFIX} dev ${ifname}`),
      `link set ${ifname} up`,
      `route add default via ${A.GATEWAY}`
    ])
  }

  /** The DHT namespace with `count` addresses (latency is added by dht-nodes.js, see delay.js). */
  async buildDht (count) {
    const ns = await this.ns('dht')
    const hosts = []
    for (let i = 0; i < count; i++) hosts.push(A.dhtHost(i))
    this.attach(ns, 'eth0', hosts)
    return { ns, hosts }
  }

  async buildRelay () {
    const ns = await this.ns('relay')
    this.attach(ns, 'eth0', [A.RELAY_HOST])
    return ns
  }

  /** One peer position of `kind` in slot `s`: { kind, peer, router, addr }. */
  async buildSlot (s, kind) {
    const addr = A.slot(s, kind)
    if (kind === 'open') {
      const peer = await this.ns(`s${s}-open`)
      this.attach(peer, 'eth0', [addr.wan])
      return { s, kind, peer, router: null, addr }
    }
    const router = await this.ns(`s${s}-${kind}-router`)
    const peer = await this.ns(`s${s}-${kind}-peer`)
    this.attach(router, 'wan', [addr.wan])
    router.ip([
      `link add lan type veth peer name eth0 netns ${peer.pid}`,
      `addr add ${addr.lan}/${addr.lanPrefix} dev lan`,
      'link set lan up'
    ])
    peer.ip([
      `addr add ${addr.peer}/${addr.peerPrefix} dev eth0`,
      'link set eth0 up',
      `route add default via ${addr.peerGateway}`
    ])
    router.sysctl('net.ipv4.ip_forward', 1)
    router.run('nft', ['-f', '-'], { input: ruleset(kind) })
    if (kind === 'firewalled') this.inet.ip([`route add ${addr.lanNet} via ${addr.wan}`])
    return { s, kind, peer, router, addr }
  }

  /**
   * Slot `s` as a LAN that `count` peers share behind one router of NAT `kind` (a bridge `lan` in
   * the router, one veth per peer): [{ kind, peer, router, addr }], one per peer, same router.
   */
  async buildSharedLan (s, kind, count) {
    if (kind !== 'consistent' && kind !== 'random') throw new Error('a shared LAN needs a NAT kind: ' + kind)
    const addr = A.slot(s, kind)
    const router = await this.ns(`s${s}-${kind}-lan-router`)
    this.attach(router, 'wan', [addr.wan])
    router.ip([
      'link add lan type bridge',
      `addr add ${addr.lan}/${addr.lanPrefix} dev lan`,
      'link set lan up'
    ])
    const slots = []
    for (let i = 0; i < count; i++) {
      const a = A.slot(s, kind, 2 + i)
      const peer = await this.ns(`s${s}-${kind}-lan-peer${i}`)
      router.ip([
        `link add lan${i} type veth peer name eth0 netns ${peer.pid}`,
        `link set lan${i} master lan`,
        `link set lan${i} up`
      ])
      peer.ip([
        `addr add ${a.peer}/${a.peerPrefix} dev eth0`,
        'link set eth0 up',
        `route add default via ${a.peerGateway}`
      ])
      slots.push({ s, kind, peer, router, addr: a })
    }
    router.sysctl('net.ipv4.ip_forward', 1)
    router.run('nft', ['-f', '-'], { input: ruleset(kind) })
    return slots
  }

  destroy () {
    // children (DHT nodes, peers) first, then the holders; the kernel removes each namespace,
    // and the veths in it, once nothing holds it
    for (const ns of this.namespaces) for (const c of ns.children) try { process.kill(c.pid, 'SIGKILL') } catch {}
    for (const ns of this.namespaces) ns.destroy()
    this.namespaces = []
  }
}

/** What the rig needs from the system; returns a list of problems (empty when usable). */
function preflight () {
  const problems = []
  for (const cmd of ['unshare', 'nsenter', 'ip', 'nft', 'conntrack']) {
    try { run('sh', ['-c', 'command -v ' + cmd], { timeout: 2000 }) } catch { problems.push(`${cmd} not installed`) }
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('not root in this user namespace (run inside `unshare -rn`, e.g. node scripts/netns.js ...)')
  }
  return problems
}

module.exports = { Topology, preflight }
