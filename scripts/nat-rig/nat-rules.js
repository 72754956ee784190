'use strict'
// nft rulesets for a router namespace with interfaces `wan` (public segment) and `lan` (the peer).
// Every kind drops unsolicited inbound: a packet from the public side that matches no conntrack
// entry never reaches the peer (forward) nor the router itself (input). Dropping it in `input`
// matters for the NAT kinds: a remote punch that arrives before our own outbound packet would
// otherwise create (and confirm) a conntrack entry for that port, and the peer's outbound flow
// would then be re-mapped to another port, so every punch fails.
//   firewalled: routed public address, no translation
//   consistent: masquerade, which keeps the source port when it is free (endpoint-independent
//               mapping: the same public port towards every destination)
//   random:     masquerade fully-random (iptables: --random-fully; a fresh random port per flow)

const KINDS = ['open', 'firewalled', 'consistent', 'random']

function filter () {
  return [
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    '    iifname "wan" ct state established,related accept',
    '    iifname "wan" drop',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    iifname "lan" oifname "wan" accept',
    // peers sharing a LAN talk over the router's bridge (bridged, so this matters only where
    // br_netfilter hands bridged packets to this hook)
    '    iifname "lan" oifname "lan" accept',
    '    iifname "wan" oifname "lan" ct state established,related accept',
    '  }'
  ]
}

function masquerade (random) {
  return [
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "wan" masquerade${random ? ' fully-random' : ''}`,
    '  }'
  ]
}

/** The nft script (for `nft -f -`) of a router of this kind; null for `open` (no router). */
function ruleset (kind) {
  if (kind === 'open') return null
  const body = filter()
  if (kind === 'consistent') body.push(...masquerade(false))
  else if (kind === 'random') body.push(...masquerade(true))
  else if (kind !== 'firewalled') throw new Error('unknown NAT kind: ' + kind)
  return ['flush ruleset', 'table ip rig {', ...body, '}', ''].join('\n')
}

module.exports = { KINDS, ruleset }
