'use strict'
// Runs every benchmark in bench/ (each compares JS hyperdht and hyperdht-rs in the same run).
const { spawnSync } = require('child_process')
const path = require('path')
for (const b of ['bootstrap.js', 'records.js', 'transport.js', 'connect.js', 'echo.js', 'bulk.js']) {
  console.log(`\n=== ${b} ===`)
  spawnSync(process.execPath, [path.join(__dirname, b)], { stdio: 'inherit' })
}
