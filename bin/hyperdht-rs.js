#!/usr/bin/env node
'use strict'
// The `hyperdht-rs` (and `hyperdht`) command: see lib/cli/ and `hyperdht-rs --help`.
const { main } = require('../lib/cli')

// a reader that went away (`hyperdht-rs lookup x | head -1`) ends us quietly, as SIGPIPE would
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err
  process.exit(0)
})

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
  // DHT handles are closed by now; exit explicitly so a paused stdin cannot keep us alive
  process.stdout.write('', () => process.exit(code))
}, (err) => {
  process.stderr.write(`hyperdht-rs: ${err.stack || err}\n`)
  process.exit(1)
})
