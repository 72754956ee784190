'use strict'
// Summaries of matrix records: per (pairing, client kind, server kind, relay) group the success
// count, the most common path, the median time to open, and whether every echo was byte-exact.

function median (xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function mostCommon (xs) {
  const n = new Map()
  for (const x of xs) n.set(x, (n.get(x) || 0) + 1)
  return [...n.entries()].sort((a, b) => b[1] - a[1]).map(([k, c]) => (n.size > 1 ? `${k}×${c}` : k)).join(' ')
}

function pairing (r) {
  return `${r.client}→${r.server}`
}

function cellKey (r) {
  return `${r.clientKind}→${r.serverKind}${r.relayThrough ? ' (relayThrough)' : ''}`
}

function summarise (records) {
  const groups = new Map()
  for (const r of records) {
    const k = cellKey(r) + '|' + pairing(r)
    if (!groups.has(k)) groups.set(k, [])
    groups.get(k).push(r)
  }
  const out = new Map()
  for (const [k, rs] of groups) {
    const ok = rs.filter((r) => r.connected)
    out.set(k, {
      tries: rs.length,
      connected: ok.length,
      echoOk: ok.filter((r) => r.echoOk).length,
      path: ok.length ? mostCommon(ok.map((r) => r.path || 'unknown')) : null,
      openMsP50: median(ok.map((r) => r.openMs)),
      errors: mostCommon(rs.filter((r) => !r.connected).map((r) => r.error || 'unknown'))
    })
  }
  return out
}

function fmtCell (s) {
  if (!s) return '–'
  if (s.connected === 0) return `✗ 0/${s.tries} ${s.errors}`
  const t = s.openMsP50 >= 1000 ? (s.openMsP50 / 1000).toFixed(1) + ' s' : Math.round(s.openMsP50) + ' ms'
  const echo = s.echoOk === s.connected ? '' : ` echo✗${s.connected - s.echoOk}`
  const fails = s.connected < s.tries ? ` (${s.errors})` : ''
  return `${s.connected === s.tries ? '✓' : '~'} ${s.connected}/${s.tries} ${s.path} ${t}${echo}${fails}`
}

/** Markdown table: one row per cell, one column per pairing (in `pairings` order). */
function markdown (records, pairings) {
  const sum = summarise(records)
  const cells = [...new Set(records.map(cellKey))]
  const lines = [
    `| client NAT → server NAT | ${pairings.join(' | ')} |`,
    `|---|${pairings.map(() => '---').join('|')}|`
  ]
  for (const c of cells) lines.push(`| ${c} | ${pairings.map((p) => fmtCell(sum.get(c + '|' + p))).join(' | ')} |`)
  return lines.join('\n')
}

/** Cells where the reference pairing connected at least once and `p` never did. */
function regressions (records, reference, pairings) {
  const sum = summarise(records)
  const out = []
  for (const c of new Set(records.map(cellKey))) {
    const ref = sum.get(c + '|' + reference)
    if (!ref || ref.connected === 0) continue
    for (const p of pairings) {
      if (p === reference) continue
      const s = sum.get(c + '|' + p)
      if (s && s.connected === 0) out.push({ cell: c, pairing: p, errors: s.errors })
    }
  }
  return out
}

module.exports = { summarise, markdown, regressions, median, cellKey, pairing }
