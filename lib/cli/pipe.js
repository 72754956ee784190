'use strict'
// Pipes stdin/stdout over an encrypted connection (connect, serve --pipe), with backpressure
// both ways. Our stdin ending ends our side; the remote ending ends ours too, so the connection
// closes once either side is done (the way ssh / nc -N behave).

/** Resolves `{ error, received, sent }` once `conn` has closed. */
function pipeStdio (conn, stdin, stdout) {
  let received = 0
  let sent = 0
  let error = null

  const ondata = (data) => {
    received += data.byteLength
    if (!stdout.write(data)) {
      conn.pause()
      stdout.once('drain', () => conn.resume())
    }
  }
  const oninput = (data) => {
    sent += data.byteLength
    if (!conn.write(data)) {
      stdin.pause()
      conn.once('drain', () => stdin.resume())
    }
  }
  const oninputend = () => conn.end()

  conn.on('data', ondata)
  conn.on('end', () => conn.end())
  conn.on('error', (err) => { error = err })
  stdin.on('data', oninput)
  stdin.on('end', oninputend)
  stdin.resume()

  return new Promise((resolve) => {
    conn.once('close', () => {
      stdin.removeListener('data', oninput)
      stdin.removeListener('end', oninputend)
      stdin.pause()
      resolve({ error, received, sent })
    })
  })
}

module.exports = { pipeStdio }
