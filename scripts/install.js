#!/usr/bin/env node
'use strict'
// npm `install` hook of the published package. The native addon normally comes prebuilt in the
// optional dependency `hyperdht-rs-<platform>` (napi-rs's npm/<platform> packages, picked by npm
// through their os/cpu/libc fields and loaded by binding.js). This script only checks that one loads;
// when none matches this platform (not a release target, or installed with --omit=optional) it builds
// the addon from the Rust sources shipped in the package, if cargo is on PATH, and otherwise fails with
// instructions. A prebuilt package that is installed but does not load is reported, not rebuilt.
//
// Building needs @napi-rs/cli, a devDependency consumers do not get: the version pinned in
// devDependencies is run through `npx --package=@napi-rs/cli@<version>` (from the npm cache or the
// registry), or taken from node_modules when it is there. In a git checkout this script does nothing:
// the `prepare` script builds the addon there, always from source.
//
// HYPERDHT_RS_BUILD_FROM_SOURCE=1 builds from source even when a prebuilt binary loads.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const packageName = (pkg.napi && pkg.napi.packageName) || pkg.name

function main () {
  if (devCheckout()) {
    log('git checkout: `prepare` builds the addon from source, nothing to do here')
    return 0
  }
  const forced = process.env.HYPERDHT_RS_BUILD_FROM_SOURCE === '1'
  const platform = platformArchAbi()
  const prebuilt = packageName + '-' + platform
  let loadError = null
  if (!forced) {
    try {
      require('../binding.js')
      log('native binary loaded (' + (installed(prebuilt) ? prebuilt : 'local build') + ')')
      return 0
    } catch (err) {
      loadError = err
    }
    if (installed(prebuilt)) {
      fail(prebuilt + ' is installed but its binary does not load on this system.\n' + describe(loadError))
      return 1
    }
  }
  if (!hasCargo()) {
    fail(noBinaryHelp(platform, forced) + (loadError ? '\n' + describe(loadError) : ''))
    return 1
  }
  log((forced ? 'HYPERDHT_RS_BUILD_FROM_SOURCE=1' : 'no prebuilt binary for ' + platform) + ': building from source (cargo, release profile)...')
  const status = build()
  if (status !== 0) {
    fail('building from source failed (exit ' + status + '); see the cargo output above.')
    return 1
  }
  try {
    require('../binding.js')
  } catch (err) {
    fail('built from source, but the result does not load.\n' + describe(err))
    return 1
  }
  log('built from source and loaded')
  return 0
}

// A git checkout (or npm running in this directory itself): the dev workflow, where `prepare` builds.
function devCheckout () {
  if (fs.existsSync(path.join(root, '.git'))) return true
  return Boolean(process.env.INIT_CWD) && path.resolve(process.env.INIT_CWD) === path.resolve(root)
}

// Same platform naming as binding.js and napi-rs's npm/<platform> packages.
function platformArchAbi () {
  const { platform, arch } = process
  if (platform === 'win32') return 'win32-' + arch + '-msvc'
  if (platform === 'linux') {
    const libc = isMusl() ? 'musl' : 'gnu'
    if (arch === 'arm') return 'linux-arm-' + libc + 'eabihf'
    return 'linux-' + arch + '-' + libc
  }
  return platform + '-' + arch
}

function isMusl () {
  const report = process.report && process.report.getReport()
  return !(report && report.header && report.header.glibcVersionRuntime)
}

function installed (name) {
  try {
    require.resolve(name + '/package.json', { paths: [root] })
    return true
  } catch {
    return false
  }
}

function hasCargo () {
  const r = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
  return !r.error && r.status === 0
}

function build () {
  const cliVersion = pkg.devDependencies && pkg.devDependencies['@napi-rs/cli']
  // --no-js keeps the shipped binding.js; --dts must be given or napi writes index.d.ts over ours.
  const args = ['build', '--platform', '--release', '--no-js', '--dts', 'binding.d.ts']
  let targetDir = null
  if (!process.env.CARGO_TARGET_DIR) {
    targetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperdht-rs-build-'))
    args.push('--target-dir', targetDir)
  }
  args.push('--', '--locked')
  let cmd
  let cmdArgs
  const localCli = resolveLocalCli()
  if (localCli) {
    cmd = process.execPath
    cmdArgs = [localCli, ...args]
  } else {
    cmd = process.platform === 'win32' ? 'npx.cmd' : 'npx'
    cmdArgs = ['--yes', '--package=@napi-rs/cli@' + cliVersion, '--', 'napi', ...args]
  }
  log('$ ' + [path.basename(cmd), ...cmdArgs].join(' '))
  // npx.cmd needs a shell on Windows (Node refuses to spawn .cmd files without one), so quote for it
  const shell = process.platform === 'win32' && !localCli
  if (shell) cmdArgs = cmdArgs.map((a) => (/[\s"]/.test(a) ? '"' + a.replace(/"/g, '\\"') + '"' : a))
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', shell })
  if (targetDir) fs.rmSync(targetDir, { recursive: true, force: true })
  if (r.error) {
    console.error(r.error.message)
    return 1
  }
  return r.status === null ? 1 : r.status
}

function resolveLocalCli () {
  try {
    const file = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
    const cli = require(file)
    if (!cli.bin || !cli.bin.napi) return null
    return path.join(path.dirname(file), cli.bin.napi)
  } catch {
    return null
  }
}

function noBinaryHelp (platform, forced) {
  const prebuilt = Object.keys(pkg.optionalDependencies || {})
    .filter((name) => name.startsWith(packageName + '-'))
    .map((name) => name.slice(packageName.length + 1))
  const rust = rustVersion()
  const lines = [
    forced
      ? 'HYPERDHT_RS_BUILD_FROM_SOURCE=1 is set but cargo is not on PATH.'
      : 'no prebuilt native binary for this platform (' + platform + ') and no Rust toolchain (cargo) to build one.',
    'Prebuilt binaries are the optional dependencies ' + packageName + '-<platform>, published for: ' +
      (prebuilt.length ? prebuilt.join(', ') : '(none listed in this package)') + '.',
    '  * If ' + platform + ' is in that list, npm skipped the optional dependency: install without',
    '    --omit=optional / --no-optional, and if the lockfile was made on another OS/CPU/libc, reinstall',
    '    (remove node_modules and the lockfile) so npm picks this platform\'s package.',
    '  * Otherwise install Rust' + (rust ? ' >= ' + rust : '') + ' (https://rustup.rs) and reinstall: this package',
    '    then builds the addon from its Rust sources with @napi-rs/cli (run through npx).'
  ]
  return lines.join('\n')
}

function rustVersion () {
  try {
    const m = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8').match(/rust-version\s*=\s*"([^"]+)"/)
    return m ? m[1] : null
  } catch {
    return null
  }
}

function describe (err) {
  const lines = []
  for (let e = err; e; e = e.cause) lines.push('  - ' + (e && e.message ? e.message.split('\n')[0] : String(e)))
  return 'load errors:\n' + lines.join('\n')
}

function log (msg) {
  console.log('hyperdht-rs: ' + msg)
}

function fail (msg) {
  console.error('hyperdht-rs: ' + msg)
}

process.exitCode = main()
