'use strict'
// Prints what a node knows about itself once fully bootstrapped behind the namespace's NAT, as
// one {"event":"self"} line: firewalled, host, port ("bound" when it is the socket's own port),
// randomized, ephemeral and remoteAddress(). Options (JSON): impl js|rs, bootstrap.
const path = require('path')
const { emit } = require('./jsonl')
const exitWithStdin = require('./stdin-exit')

const opts = JSON.parse(process.argv[2])
const DHT = opts.impl === 'js' ? require('hyperdht') : require(path.join(__dirname, '..', '..'))
let dht = null
exitWithStdin(60_000, () => dht && dht.destroy())

async function main () {
  dht = new DHT({ bootstrap: opts.bootstrap })
  await dht.fullyBootstrapped()
  const port = dht.port === dht.address().port ? 'bound' : dht.port
  emit({ event: 'self', firewalled: dht.firewalled, host: dht.host, port, randomized: dht.randomized, ephemeral: dht.ephemeral, remote: dht.remoteAddress() })
  await dht.destroy()
}

main().catch((err) => {
  emit({ event: 'error', error: err.code || err.message })
  process.exit(1)
})
