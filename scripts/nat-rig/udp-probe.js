'use strict'
// Kernel-level probe for the rig's own checks: binds one UDP port, prints every datagram it gets
// as {"event":"recv","host","port","msg"}, and sends a datagram for every stdin line
// {"host","port","msg"}. Exits when stdin closes.
// usage: node udp-probe.js <bindPort>
const dgram = require('dgram')
const readline = require('readline')
const { emit } = require('./jsonl')

const sock = dgram.createSocket('udp4')
sock.on('message', (buf, rinfo) => emit({ event: 'recv', host: rinfo.address, port: rinfo.port, msg: buf.toString() }))
sock.on('error', (err) => { emit({ event: 'error', error: err.message }); process.exit(1) })
sock.bind(Number(process.argv[2]) || 0, () => emit({ event: 'ready', port: sock.address().port }))

readline.createInterface({ input: process.stdin })
  .on('line', (line) => {
    const { host, port, msg } = JSON.parse(line)
    sock.send(Buffer.from(msg), port, host, (err) => emit({ event: 'sent', host, port, msg, error: err ? err.message : null }))
  })
  .on('close', () => process.exit(0))
setTimeout(() => process.exit(3), 10 * 60_000).unref()
