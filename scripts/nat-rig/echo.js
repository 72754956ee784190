'use strict'
// The client half of a cell's echo, shared by peer.js (hyperdht connections) and swarm-peer.js
// (hyperswarm connections): writes `data` in 64 KiB chunks with backpressure, ends, and resolves
// with everything the server sent back before its end.
const CHUNK = 64 * 1024

function echo (socket, data) {
  return new Promise((resolve, reject) => {
    const got = []
    let len = 0
    socket.on('data', (d) => { got.push(d); len += d.byteLength })
    socket.on('end', () => resolve(Buffer.concat(got, len)))
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('closed before the echo ended')))
    let off = 0
    const pump = () => {
      while (off < data.byteLength) {
        const chunk = data.subarray(off, off + CHUNK)
        off += chunk.byteLength
        if (!socket.write(chunk)) return socket.once('drain', pump)
      }
      socket.end()
    }
    pump()
  })
}

/** The server half: echoes every byte back and ends when the client ended. */
function echoBack (socket) {
  let bytes = 0
  socket.on('data', (d) => { bytes += d.byteLength; socket.write(d) })
  socket.on('end', () => socket.end())
  return () => bytes
}

module.exports = { echo, echoBack }
