'use strict'
// hyperdht's lib/encode.js: encode a compact-encoding value into a Buffer that owns its memory
// (not a view into Node's shared pool), for values that are kept around for long.

const b4a = require('b4a')
const c = require('compact-encoding')

function encodeUnslab (enc, value) {
  const state = c.state()
  enc.preencode(state, value)
  state.buffer = b4a.allocUnsafeSlow(state.end) // sized exactly, encoded in place: no extra copy
  enc.encode(state, value)
  return state.buffer
}

module.exports = { encodeUnslab }
