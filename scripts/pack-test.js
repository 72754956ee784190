#!/usr/bin/env node
'use strict'
// Packaging test (`npm run test:pack`, part of `npm test`): the published package as a user gets it.
//
// 1. Stages a release the way .github/workflows/release.yml does, restricted to this host's target:
//    `npm pack` of the repo, the committed npm/<platform> dir, this host's addon as a CI artifact,
//    `napi artifacts`, `napi prepublish -t npm --skip-optional-publish` (adds optionalDependencies),
//    then `npm pack` of the main package and of npm/<platform>.
// 2. Checks the committed npm/ dirs are what `napi create-npm-dirs` generates for every napi target
//    and that binding.js asks for exactly those package names.
// 3. Installs both tarballs into a scratch project with cargo/rustc absent from PATH (outside the
//    loopback namespace, `--prefer-offline`: the registry is only needed for what the repo's own
//    `npm ci` did not already put in the npm cache), as `hyperdht-rs` and as `hyperdht` aliased for
//    hyperswarm (`file:` tarball + `overrides`); `npm ls --all` must be clean.
// 4. Inside `scripts/netns.js`: an encrypted echo on a local testnet (pack-test-echo.js) and a
//    hyperswarm exchange (pack-test-swarm.js), both asserting the addon came from the platform package.
// 5. Installs the main tarball with --omit=optional and no cargo: scripts/install.js must fail the
//    install with its explanation.
// `--from-source` adds: install with --omit=optional and cargo present, so scripts/install.js builds
// the addon from the packaged Rust sources (slow: a full release build), then the echo again.
// KEEP_PACK_TEST=1 keeps the tmp dir; PACK_TEST_VERBOSE=1 prints the failing install's output.
const fs = require('fs')
const os = require('os')
const path = require('path')
const assert = require('assert')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const napiCli = require('@napi-rs/cli')
const napiBin = path.join(path.dirname(require.resolve('@napi-rs/cli/package.json')), require('@napi-rs/cli/package.json').bin.napi)
const fromSource = process.argv.includes('--from-source')
const started = Date.now()

function step (msg) {
  console.log('[pack-test +' + ((Date.now() - started) / 1000).toFixed(1) + 's] ' + msg)
}

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 180000, ...opts })
  const out = (r.stdout || '') + (r.stderr || '')
  if (opts.expectFail) return { status: r.status, out }
  if (r.error || r.status !== 0) {
    throw new Error('`' + [cmd, ...args].join(' ') + '` failed (' + (r.error ? r.error.message : 'exit ' + r.status) + '):\n' + out)
  }
  return { status: r.status, out, stdout: r.stdout }
}

function napi (args, cwd) {
  return run(process.execPath, [napiBin, ...args], { cwd })
}

function npmPack (dir, dest) {
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: dir })
  const [info] = JSON.parse(r.stdout)
  return { file: path.join(dest, info.filename), files: info.files.map((f) => f.path) }
}

// Same naming as binding.js / scripts/install.js.
function hostPlatformArchAbi () {
  const { platform, arch } = process
  if (platform === 'win32') return 'win32-' + arch + '-msvc'
  if (platform === 'linux') {
    const glibc = process.report.getReport().header.glibcVersionRuntime
    return 'linux-' + arch + '-' + (glibc ? 'gnu' : 'musl')
  }
  return platform + '-' + arch
}

// PATH without any directory holding cargo or rustc, checked by trying to run them.
function pathWithoutRust () {
  const exts = process.platform === 'win32' ? ['.exe', ''] : ['']
  const has = (dir, name) => exts.some((e) => fs.existsSync(path.join(dir, name + e)))
  const dirs = (process.env.PATH || '').split(path.delimiter).filter((d) => d && !has(d, 'cargo') && !has(d, 'rustc'))
  const env = { ...process.env, PATH: dirs.join(path.delimiter) }
  for (const k of ['CARGO', 'RUSTC', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTUP_TOOLCHAIN', 'HYPERDHT_RS_BUILD_FROM_SOURCE']) delete env[k]
  for (const tool of ['cargo', 'rustc']) {
    const r = spawnSync(tool, ['--version'], { env })
    assert.ok(r.error && r.error.code === 'ENOENT', tool + ' must not be on the scratch PATH (found: ' + (r.stdout || '') + ')')
  }
  for (const tool of ['node', 'npm']) {
    const r = spawnSync(tool, ['--version'], { env })
    assert.ok(!r.error && r.status === 0, tool + ' must stay on the scratch PATH: ' + env.PATH)
  }
  return env
}

function checkNpmDirs (stage) {
  // what create-npm-dirs generates now, for every configured target, must be what is committed
  const fresh = path.join(stage, 'npm-fresh')
  napi(['create-npm-dirs', '--npm-dir', 'npm-fresh'], stage)
  const binding = fs.readFileSync(path.join(root, 'binding.js'), 'utf8')
  const abis = pkg.napi.targets.map((t) => napiCli.parseTriple(t).platformArchABI)
  assert.deepStrictEqual(fs.readdirSync(fresh).sort(), [...abis].sort())
  assert.deepStrictEqual(fs.readdirSync(path.join(root, 'npm')).sort(), [...abis].sort(), 'npm/ holds exactly the napi.targets packages')
  for (const abi of abis) {
    for (const file of ['package.json', 'README.md']) {
      assert.strictEqual(fs.readFileSync(path.join(root, 'npm', abi, file), 'utf8'), fs.readFileSync(path.join(fresh, abi, file), 'utf8'),
        'npm/' + abi + '/' + file + ' is stale: run `npx napi create-npm-dirs`')
    }
    const name = require(path.join(root, 'npm', abi, 'package.json')).name
    assert.strictEqual(name, pkg.name + '-' + abi)
    assert.ok(binding.includes("require('" + name + "')"), 'binding.js loads ' + name)
  }
  // binding.js checks the platform package's version (under NAPI_RS_ENFORCE_VERSION_CHECK); `npm version`
  // regenerates it through the `version` script
  assert.ok(binding.includes("bindingPackageVersion !== '" + pkg.version + "'"), 'binding.js expects version ' + pkg.version + ': rebuild it')
  fs.rmSync(fresh, { recursive: true })
  return abis
}

function stageRelease (tmp, abi, triple, nodeFile) {
  const stage = path.join(tmp, 'stage')
  fs.mkdirSync(stage)
  const first = npmPack(root, tmp)
  run('tar', ['-xzf', first.file, '-C', stage])
  fs.rmSync(first.file)
  const pkgDir = path.join(stage, 'package')
  fs.cpSync(path.join(root, 'npm', abi), path.join(pkgDir, 'npm', abi), { recursive: true })
  const artifacts = path.join(stage, 'artifacts', 'bindings-' + triple)
  fs.mkdirSync(artifacts, { recursive: true })
  fs.copyFileSync(nodeFile, path.join(artifacts, path.basename(nodeFile)))
  // only this host's target can be built here; the other targets' artifacts come from the CI matrix
  const config = path.join(stage, 'napi-host.json')
  fs.writeFileSync(config, JSON.stringify({ binaryName: pkg.napi.binaryName, targets: [triple] }))
  napi(['artifacts', '-c', config, '-o', path.join(stage, 'artifacts')], pkgDir)
  napi(['prepublish', '-c', config, '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], pkgDir)
  const main = npmPack(pkgDir, tmp)
  const platform = npmPack(path.join(pkgDir, 'npm', abi), tmp)
  return { pkgDir, main, platform }
}

function writeProject (dir, deps, overrides) {
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: path.basename(dir), version: '1.0.0', private: true, dependencies: deps, overrides
  }, null, 2) + '\n')
}

function npmInstall (dir, env, extra = [], opts = {}) {
  return run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...extra], { cwd: dir, env, ...opts })
}

function inNetns (script, args, env) {
  const r = run(process.execPath, [path.join(root, 'scripts', 'netns.js'), process.execPath, path.join(__dirname, script), ...args], { env, timeout: 90000 })
  process.stdout.write(r.out)
  return r.out
}

function main () {
  const abi = hostPlatformArchAbi()
  const triple = pkg.napi.targets.find((t) => napiCli.parseTriple(t).platformArchABI === abi)
  assert.ok(triple, 'this host (' + abi + ') is not one of napi.targets, so no prebuilt package can be tested here')
  const nodeFile = path.join(root, pkg.napi.binaryName + '.' + abi + '.node')
  if (!fs.existsSync(nodeFile)) {
    step('no ' + path.basename(nodeFile) + ': building it (npm run build)')
    run('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', timeout: 3600000 })
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperdht-rs-pack-'))
  try {
    step('staging a release for ' + triple + ' in ' + tmp)
    const { pkgDir, main, platform } = stageRelease(tmp, abi, triple, nodeFile)
    const platformName = pkg.name + '-' + abi

    step('npm/ dirs against `napi create-npm-dirs`')
    const abis = checkNpmDirs(pkgDir)
    console.log('  ' + abis.map((a) => pkg.name + '-' + a).join(', '))

    const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
    assert.deepStrictEqual(manifest.optionalDependencies, { [platformName]: pkg.version }, 'prepublish declares the platform package at this version')
    assert.ok(!main.files.some((f) => f.endsWith('.node')), 'main tarball carries no binary: ' + main.files.filter((f) => f.endsWith('.node')))
    for (const f of ['binding.js', 'index.js', 'testnet.js', 'scripts/install.js', 'Cargo.toml', 'Cargo.lock', '.cargo/config.toml', 'src/lib.rs', 'crates/hyperdht/src/lib.rs']) {
      assert.ok(main.files.includes(f), 'main tarball has ' + f)
    }
    assert.deepStrictEqual(platform.files.sort(), ['README.md', pkg.napi.binaryName + '.' + abi + '.node', 'package.json'])
    console.log('  ' + path.basename(main.file) + ' (' + main.files.length + ' files), ' + path.basename(platform.file))

    const env = pathWithoutRust()
    const project = path.join(tmp, 'project')
    writeProject(project, {
      [pkg.name]: 'file:' + main.file,
      hyperdht: 'file:' + main.file,
      hyperswarm: pkg.devDependencies.hyperswarm
    }, { hyperdht: '$hyperdht', [platformName]: 'file:' + platform.file })
    step('npm install in a scratch project, cargo/rustc not on PATH')
    const install = npmInstall(project, env)
    const loaded = install.out.match(/hyperdht-rs: native binary loaded \(([^)]+)\)/g) || []
    assert.strictEqual(loaded.length, 2, 'scripts/install.js ran for hyperdht-rs and the hyperdht alias:\n' + install.out)
    for (const line of loaded) assert.ok(line.includes(platformName), line)
    run('npm', ['ls', '--all'], { cwd: project, env })
    const expected = fs.realpathSync(path.join(project, 'node_modules', platformName, path.basename(nodeFile)))
    for (const name of [pkg.name, 'hyperdht']) {
      const dir = path.join(project, 'node_modules', name)
      assert.strictEqual(require(path.join(dir, 'package.json')).name, pkg.name)
      assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.node')), name + ' has no local binary')
    }
    console.log('  npm ls --all: clean')

    step('encrypted echo on a local testnet (netns)')
    inNetns('pack-test-echo.js', [project, expected], env)
    step('hyperswarm with hyperdht aliased to the package (netns)')
    inNetns('pack-test-swarm.js', [project, expected], env)

    step('no prebuilt binary and no cargo: the install must fail with an explanation')
    const bare = path.join(tmp, 'no-prebuilt')
    writeProject(bare, { [pkg.name]: 'file:' + main.file }, { [platformName]: 'file:' + platform.file })
    const failed = npmInstall(bare, env, ['--omit=optional'], { expectFail: true })
    assert.notStrictEqual(failed.status, 0, 'install without a binary and without cargo must fail:\n' + failed.out)
    assert.match(failed.out, new RegExp('no prebuilt native binary for this platform \\(' + abi + '\\) and no Rust toolchain'))
    assert.match(failed.out, /install Rust >= [0-9.]+ \(https:\/\/rustup\.rs\)/)
    if (process.env.PACK_TEST_VERBOSE) console.log(failed.out)
    console.log('  npm install exited ' + failed.status + ' with scripts/install.js\'s explanation')

    if (fromSource) {
      step('--from-source: no prebuilt binary, cargo on PATH: scripts/install.js builds from the packaged sources')
      const src = path.join(tmp, 'from-source')
      writeProject(src, { [pkg.name]: 'file:' + main.file }, { [platformName]: 'file:' + platform.file })
      const built = npmInstall(src, { ...process.env, npm_config_prefer_offline: 'true' }, ['--omit=optional'], { timeout: 3600000 })
      assert.match(built.out, /hyperdht-rs: built from source and loaded/, built.out)
      console.log(built.out.split('\n').filter((l) => l.startsWith('hyperdht-rs: ')).map((l) => '  ' + l).join('\n'))
      assert.ok(!fs.existsSync(path.join(src, 'node_modules', platformName)))
      const own = fs.realpathSync(path.join(src, 'node_modules', pkg.name, path.basename(nodeFile)))
      inNetns('pack-test-echo.js', [src, own], env)
    }
    step('ok')
  } finally {
    if (process.env.KEEP_PACK_TEST === '1') console.log('kept ' + tmp)
    else fs.rmSync(tmp, { recursive: true, force: true })
  }
}

try {
  main()
} catch (err) {
  console.error(err)
  process.exit(1)
}
