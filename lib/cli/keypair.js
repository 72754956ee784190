'use strict'
// `hyperdht-rs keypair [--seed s]`: an ed25519 key pair as hyperdht makes them (DHT.keyPair(seed)).
const { keyPairOf, hex } = require('./common')

const name = 'keypair'

const spec = {
  flags: { seed: { value: true }, json: { value: false } },
  positionals: []
}

const help = `Usage: hyperdht-rs keypair [--seed <hex|string>] [--json]

Prints a key pair (DHT.keyPair(seed)) as hex: "publicKey <hex>" and "secretKey <hex>" lines.
The same seed always gives the same key pair; use it with serve/announce/connect --seed.

Options:
  --seed <hex|string>   64 hex characters are the 32-byte seed as is; anything else is hashed:
                        DHT.hash(Buffer.from(string)) (default: a random key pair)
  --json                {"publicKey", "secretKey"}`

async function run ({ flags }, ctx) {
  const kp = keyPairOf(flags, name)
  const out = { publicKey: hex(kp.publicKey), secretKey: hex(kp.secretKey) }
  if (flags.json) ctx.stdout.write(JSON.stringify(out) + '\n')
  else ctx.stdout.write(`publicKey ${out.publicKey}\nsecretKey ${out.secretKey}\n`)
  return 0
}

module.exports = { name, summary: 'print a key pair (optionally from a seed)', spec, help, run }
