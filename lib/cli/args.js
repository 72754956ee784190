'use strict'
// Command-line parsing for bin/hyperdht-rs.js: `--name value`, `--name=value` and boolean
// `--name` flags, checked against each command's flag table so typos fail loudly.

class UsageError extends Error {
  constructor (message, command = null) {
    super(message)
    this.name = 'UsageError'
    this.command = command // the command whose usage to point at
  }
}

/**
 * Parses `argv` against `spec = { flags: { name: { value, optional } }, positionals: [names],
 * rest }`. A flag with `value: true` takes the next argument unless that starts with `--`;
 * `optional: true` lets such a flag stand alone (upstream's `--bootstrap` without a list), its
 * value then is ''. `lenient`: an unknown `--flag` (and the value after it) is skipped and
 * listed in `ignored` instead of failing. Returns `{ flags, positionals, help, ignored }`.
 */
function parse (argv, spec, command = null, { lenient = false } = {}) {
  const flags = {}
  const positionals = []
  const ignored = []
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (a === '-h' || a === '--help') {
      help = true
      continue
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`, command)
      positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq)
    const def = spec.flags[name]
    if (!def && lenient) {
      // upstream's bin looks up the flags it knows and ignores the rest (and their values)
      ignored.push(`--${name}`)
      if (eq === -1 && i + 1 < argv.length && !argv[i + 1].startsWith('-')) i++
      continue
    }
    if (!def) throw new UsageError(`unknown option --${name}`, command)
    if (!def.value) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`, command)
      flags[name] = true
      continue
    }
    let value
    if (eq !== -1) {
      value = a.slice(eq + 1)
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i]
    } else if (def.optional) {
      value = ''
    } else {
      throw new UsageError(`--${name} needs a value`, command)
    }
    flags[name] = value
  }
  const names = spec.positionals || []
  if (!help) {
    if (positionals.length < names.length) throw new UsageError(`missing <${names[positionals.length]}>`, command)
    if (positionals.length > names.length) throw new UsageError(`unexpected argument ${positionals[names.length]}`, command)
  }
  return { flags, positionals, help, ignored }
}

/** An integer flag in [min, max], or `fallback` when the flag is absent. */
function intFlag (flags, name, { min = 0, max = Number.MAX_SAFE_INTEGER, fallback = null, command = null } = {}) {
  const v = flags[name]
  if (v === undefined) return fallback
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`, command)
  }
  return Number(v)
}

/** A number of seconds (fractions allowed; `positive`: not 0), or `fallback`. */
function secondsFlag (flags, name, { fallback = null, positive = false, command = null } = {}) {
  const v = flags[name]
  if (v === undefined) return fallback
  if (!/^\d+(\.\d+)?$/.test(v) || (positive && Number(v) === 0)) {
    throw new UsageError(`--${name} must be a number of seconds${positive ? ' above 0' : ''}, got ${JSON.stringify(v)}`, command)
  }
  return Number(v)
}

module.exports = { UsageError, parse, intFlag, secondsFlag }
