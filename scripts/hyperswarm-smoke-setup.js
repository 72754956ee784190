#!/usr/bin/env node
'use strict'
// Creates the scratch project the hyperswarm drop-in test uses: it depends on hyperswarm with
// `"hyperdht": "file:<this repo>"` plus `"overrides": {"hyperdht": "$hyperdht"}`, exactly what a
// user does to alias hyperdht to this package. Runs before `npm test` (outside the loopback
// namespace, since it may need the npm registry); reuses the npm cache when it can.
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')

const root = path.join(__dirname, '..')
const dir = path.join(root, 'target', 'hyperswarm-smoke')
const version = require(path.join(root, 'package.json')).devDependencies.hyperswarm

const pkg = {
  name: 'hyperswarm-smoke',
  version: '1.0.0',
  private: true,
  dependencies: { hyperswarm: version, hyperdht: 'file:' + root },
  overrides: { hyperdht: '$hyperdht' }
}

fs.mkdirSync(dir, { recursive: true })
const file = path.join(dir, 'package.json')
const text = JSON.stringify(pkg, null, 2) + '\n'
const linked = path.join(dir, 'node_modules', 'hyperdht')
const fresh = fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text && fs.existsSync(linked)
if (!fresh) {
  fs.writeFileSync(file, text)
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: dir,
    stdio: 'inherit'
  })
}
console.log('hyperswarm smoke project ready:', dir)
