'use strict'
// Runs @hyperswarm/secret-stream's own datagram code (_setupSecretSend, _boxMessage,
// _onmessage) on a stream that never starts.
// usage: node datagram.js <hashHex> <isInitiator 0|1> <counterHex> <msgHex> <fromPeerHex>
// prints JSON {sealed, opened}: our seal of msg with counter, and what we open from the peer.
const path = require('path')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const NoiseSecretStream = require(path.join(root, '@hyperswarm', 'secret-stream'))
const [hash, init, counter, msg, fromPeer] = process.argv.slice(2)
const s = new NoiseSecretStream(init === '1', null, { autoStart: false })
s._setupSecretSend(Buffer.from(hash, 'hex'))
// counter and its start value (so one increment does not look like exhaustion)
s._sendState.set(Buffer.from(counter, 'hex'), 64)
s._sendState.set(Buffer.from(counter, 'hex'), 72)
const sealed = s._boxMessage(Buffer.from(msg, 'hex'))
let opened = null
s.on('message', (m) => { opened = Buffer.from(m).toString('hex') })
s._onmessage(Buffer.from(fromPeer, 'hex'))
console.log(JSON.stringify({ sealed: Buffer.from(sealed).toString('hex'), opened }))
