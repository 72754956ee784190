'use strict'
// The TypeScript declarations (index.d.ts, testnet.d.ts, lib/*.d.ts) as a user of the published
// package gets them: the files `npm pack` publishes are copied to
// .tmp/types-<pid>/node_modules/hyperdht-rs and the programs in __test__/types/ are compiled
// against that copy by the local `tsc` (devDependency) with __test__/types/tsconfig.json: strict,
// no skipLibCheck, lib es2022 only (no DOM). No diagnostics allowed, so every `@ts-expect-error`
// there is an error (tsc reports an unused one); the directives are also blanked out once to see
// each of them fail on its own line and nowhere else. The README's TypeScript example is
// __test__/types/example.ts, compiled and run (a local testnet: loopback only, like the rest of
// the suite under scripts/netns.js). TYPES_TEST_TSC=<path to another tsc> checks with that one.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const ROOT = path.join(__dirname, '..')
const TYPES = path.join(__dirname, 'types')
const TSC = process.env.TYPES_TEST_TSC || path.join(ROOT, 'node_modules', '.bin', 'tsc')
const WORK = path.join(ROOT, '.tmp', `types-${process.pid}`)
const SOURCES = fs.readdirSync(TYPES).filter((f) => /\.(ts|mts|js)$/.test(f))
// the lib modules upstream exposes as hyperdht/lib/*, which have declarations here
const PUBLIC_LIB = ['constants', 'crypto', 'encode', 'errors', 'holepuncher', 'messages', 'nat', 'noise-wrap', 'plugin']

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts })
  if (r.error) throw r.error
  return r
}

function tsc (project) {
  return run(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { cwd: ROOT })
}

/** `file(line,col): error TSnnnn: ...` lines of tsc's output. */
function diagnostics (out) {
  const list = []
  for (const line of out.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line)
    if (m) list.push({ file: path.basename(m[1]), line: Number(m[2]), code: m[4], text: m[5] })
  }
  return list
}

let published = null
let compiled = null // tsc over the programs (emitting them to out/, so the example can run)
let stripped = null // tsc over the programs without their @ts-expect-error lines

test.before(() => {
  const packed = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT })
  assert.strictEqual(packed.status, 0, packed.stderr)
  published = JSON.parse(packed.stdout)[0].files.map((f) => f.path)

  // the consumer: the published files under node_modules, the programs beside a tsconfig that
  // resolves `hyperdht-rs` the normal way (no `paths`) and a package.json of its own (CommonJS)
  fs.rmSync(WORK, { recursive: true, force: true })
  const pkg = path.join(WORK, 'node_modules', 'hyperdht-rs')
  for (const file of published) {
    fs.mkdirSync(path.dirname(path.join(pkg, file)), { recursive: true })
    fs.copyFileSync(path.join(ROOT, file), path.join(pkg, file))
  }
  // the binary comes from a platform package once published (scripts/pack-test.js tests that
  // path); here the addon built in this checkout stands in for it, beside binding.js
  for (const file of fs.readdirSync(ROOT).filter((f) => f.endsWith('.node'))) {
    fs.copyFileSync(path.join(ROOT, file), path.join(pkg, file))
  }
  fs.writeFileSync(path.join(WORK, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const base = path.join(TYPES, 'tsconfig.json')
  const config = (extra, include) => JSON.stringify({ extends: base, compilerOptions: { paths: {}, ...extra }, include })
  fs.writeFileSync(path.join(WORK, 'tsconfig.json'), config({ noEmit: false, outDir: 'out' }, ['*.ts', '*.mts', '*.js']))
  fs.writeFileSync(path.join(WORK, 'tsconfig.stripped.json'), config({}, ['stripped/*']))
  fs.mkdirSync(path.join(WORK, 'stripped'))
  for (const file of SOURCES) {
    const text = fs.readFileSync(path.join(TYPES, file), 'utf8')
    fs.writeFileSync(path.join(WORK, file), text)
    // the same program with each `@ts-expect-error` line blanked (line numbers stay)
    fs.writeFileSync(path.join(WORK, 'stripped', file), text.split('\n').map((l) => /^\s*\/\/ @ts-expect-error\b/.test(l) ? '' : l).join('\n'))
  }

  compiled = tsc(path.join(WORK, 'tsconfig.json'))
  stripped = tsc(path.join(WORK, 'tsconfig.stripped.json'))
})

test.after(() => {
  fs.rmSync(WORK, { recursive: true, force: true })
})

test('every declaration file is published, next to the module it types', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  assert.strictEqual(pkg.types, 'index.d.ts')
  const wanted = ['index.d.ts', 'testnet.d.ts', ...PUBLIC_LIB.map((name) => `lib/${name}.d.ts`)]
  for (const file of wanted) {
    assert.ok(published.includes(file), `${file} is not published`)
    assert.ok(published.includes(file.replace(/\.d\.ts$/, '.js')), `${file} has no module beside it`)
  }
  // the types they use resolve for users: streamx ships its own, Buffer/events come from @types/node
  assert.ok(pkg.dependencies.streamx && pkg.dependencies['@types/node'])
  assert.ok(fs.existsSync(path.join(ROOT, 'node_modules', 'streamx', 'index.d.ts')))
})

test('the programs in __test__/types compile against the published declarations without a diagnostic', () => {
  assert.strictEqual(compiled.stdout + compiled.stderr, '', 'tsc reported diagnostics')
  assert.strictEqual(compiled.status, 0)
})

test('every @ts-expect-error marks a line that fails to compile, and only those lines fail', () => {
  const expected = []
  for (const file of SOURCES) {
    const lines = fs.readFileSync(path.join(TYPES, file), 'utf8').split('\n')
    lines.forEach((l, i) => {
      if (/^\s*\/\/ @ts-expect-error\b/.test(l)) expected.push(`${file}:${i + 2}`) // the next line, 1-based
    })
  }
  assert.ok(expected.length >= 50, `only ${expected.length} negative cases`)
  assert.notStrictEqual(stripped.status, 0)
  const found = diagnostics(stripped.stdout)
  assert.ok(found.length > 0, stripped.stdout + stripped.stderr)
  const failing = new Set(found.map((d) => `${d.file}:${d.line}`))
  const missing = expected.filter((at) => !failing.has(at))
  assert.deepStrictEqual(missing, [], 'these lines compile without their @ts-expect-error')
  const unexpected = found.filter((d) => !expected.includes(`${d.file}:${d.line}`))
  assert.deepStrictEqual(unexpected, [], 'errors outside the @ts-expect-error lines')
})

test("README's TypeScript example is __test__/types/example.ts, and it compiles and runs", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## TypeScript$/m)[1]
  assert.ok(section, 'README has no "## TypeScript" section')
  const block = /```ts\n([\s\S]*?)```/.exec(section)
  assert.ok(block, 'the TypeScript section has no ```ts block')
  assert.strictEqual(block[1], fs.readFileSync(path.join(TYPES, 'example.ts'), 'utf8'))

  assert.strictEqual(compiled.status, 0, 'the programs did not compile')
  const r = run(process.execPath, [path.join(WORK, 'out', 'example.js')], { cwd: WORK, timeout: 60000 })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.match(r.stdout, /^connected to [0-9a-f]{64}\necho: hello\n$/)
})
