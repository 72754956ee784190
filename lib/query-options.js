'use strict'
// dht-rpc query options as the engine takes them, and dht-rpc's autoCommit (index.js and
// lib/records.js share them).

// dht-rpc Query options the engine takes: concurrency, the nodes to start from (opts.nodes /
// closestNodes, else the senders of opts.replies / closestReplies), onlyClosestNodes (ask just
// those; hyperswarm's unannounce) and force (no congestion window, no retries)
function queryOpts (opts) {
  const out = {}
  if (opts.concurrency) out.concurrency = opts.concurrency
  const nodes = opts.nodes || opts.closestNodes
  const replies = opts.replies || opts.closestReplies
  if (nodes) out.nodes = nodes.map((n) => `${n.host}:${n.port}`)
  else if (replies) out.nodes = replies.map((r) => `${r.from.host}:${r.from.port}`)
  if (opts.onlyClosestNodes) out.onlyClosestNodes = true
  if (opts.force) out.force = true
  return out
}

// dht-rpc query.js autoCommit (`commit: true`): repeat the query's request with the token
function autoCommit (reply, dht, query) {
  if (!reply.token) return Promise.reject(new Error('No token received for closest node'))
  return dht.request({ token: reply.token, target: query.target, command: query.command, value: query.value }, reply.from)
}

module.exports = { queryOpts, autoCommit }
