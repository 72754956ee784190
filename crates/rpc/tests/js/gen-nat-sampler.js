// Generates tests/data/nat-sampler.json from the real nat-sampler package: sequences of
// (host, port) observations and the sampler's (host, port, returned hits) after each add.
// Usage: node gen-nat-sampler.js <node_modules> > ../data/nat-sampler.json
'use strict'
const path = require('path')
const NatSampler = require(path.join(process.argv[2], 'nat-sampler'))

let seed = 12345
function rnd(n) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}

const hosts = ['1.1.1.1', '2.2.2.2', '3.3.3.3']
const ports = [1000, 2000, 3000, 4000]
const cases = []
for (let c = 0; c < 12; c++) {
  const s = new NatSampler()
  const steps = []
  const hostSpread = 1 + (c % 3)
  const portSpread = 1 + (c % 4)
  for (let i = 0; i < 60; i++) {
    const host = hosts[rnd(hostSpread)]
    const port = ports[rnd(portSpread)]
    const hits = s.add(host, port)
    steps.push({ add: [host, port], host: s.host, port: s.port, hits, size: s.size })
  }
  cases.push(steps)
}
process.stdout.write(JSON.stringify({ generator: 'nat-sampler 1.0.1 via tests/js/gen-nat-sampler.js', cases }, null, 0) + '\n')
