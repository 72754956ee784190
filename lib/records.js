'use strict'
// hyperdht's record APIs (index.js there: announce, lookupAndUnannounce, immutable and mutable
// put/get) over the engine's queries. With a secret key the engine signs; with an app's signer
// (`opts.signAnnounce`/`signUnannounce`/`signMutable`, or a key pair's `sign()`) the query runs in
// the engine and the signed requests go out from here, as upstream's commit hooks do.
const c = require('compact-encoding')
const binding = require('../binding.js')
const errors = require('./errors')
const Persistent = require('./persistent')
const Query = require('./query')
const { FirstReply } = Query
const { COMMANDS } = require('./constants')
const { buffer32, keyPairArg, bufferArg, relayAddressesArg } = require('./keys')
const { queryOpts } = require('./query-options')

function announce (dht, target, keyPair, relayAddresses, opts = {}) {
  const t = buffer32(target, 'topic')
  const kp = signingKeyPair(keyPair, opts.signAnnounce, 'signAnnounce')
  if (kp instanceof Error) return failedQuery(dht, t, kp)
  if (nonCustodial(keyPair, kp, opts.signAnnounce || (opts.clear && opts.signUnannounce))) {
    const signAnnounce = opts.signAnnounce || defaultSignAnnounce
    const relays = relayAddressesArg(relayAddresses || [])
    const ann = { peer: { publicKey: kp.publicKey, relayAddresses: relays.map(parseHostPort) }, refresh: null, signature: null, bump: opts.bump || 0 }
    // hyperdht announce: its commit replaces opts.commit
    const lookupOpts = { ...opts, commit: null }
    const q = opts.clear ? hookedLookupAndUnannounce(dht, t, keyPair, lookupOpts) : dht.lookup(t, lookupOpts)
    const userCommit = q._commit
    q._commit = async (reply, dht, query) => {
      if (userCommit) await userCommit(reply, dht, query)
      const signature = await signAnnounce(t, reply.token, reply.from.id, ann, keyPair)
      const value = binding.encodeAnnounce(kp.publicKey, relays, signature, ann.bump)
      return dht.request({ token: reply.token, target: t, command: COMMANDS.ANNOUNCE, value }, reply.from)
    }
    return q
  }
  return dht._startQuery({
    keyPair: kp,
    relayAddresses: relayAddressesArg(relayAddresses || []),
    bump: opts.bump || 0,
    clear: !!opts.clear,
    ...queryOpts(opts)
  }, 'announce', t)
}

function lookupAndUnannounce (dht, target, keyPair, opts = {}) {
  const t = buffer32(target, 'topic')
  const kp = signingKeyPair(keyPair, opts.signUnannounce, 'signUnannounce')
  // hyperdht signs each unannounce in the query and ignores its failure: the lookup runs and
  // resolves, nothing is unannounced
  if (kp instanceof Error) return dht.lookup(t, opts)
  if (nonCustodial(keyPair, kp, opts.signUnannounce)) return hookedLookupAndUnannounce(dht, t, keyPair, opts)
  // the engine unannounces before the query ends; opts.commit then runs like upstream's
  return dht._startQuery({ keyPair: kp, ...queryOpts(opts) }, 'lookupAndUnannounce', t, { commit: opts.commit })
}

/**
 * The key pair an announce or unannounce signs with, or the error that makes it unusable. A
 * missing key pair throws at the call (hyperdht reads `keyPair.publicKey` there); one it cannot
 * sign with (wrong lengths, no secret key and no signer) is no error at the call: hyperdht signs
 * in the query, so an announce fails when it runs and an unannounce is skipped.
 */
function signingKeyPair (keyPair, signer, signerName) {
  if (!keyPair || typeof keyPair !== 'object') return keyPairArg(keyPair) // throws
  try {
    return signerKeyPair(keyPair, signer, signerName)
  } catch (err) {
    return err
  }
}

/** `keyPair` checked, and able to sign: a secret key, its own `sign()`, or the `opts` signer. */
function signerKeyPair (keyPair, signer, signerName) {
  const kp = keyPairArg(keyPair)
  if (!kp.secretKey && !signer && typeof keyPair.sign !== 'function') {
    throw new TypeError(`keyPair.secretKey, keyPair.sign or opts.${signerName} is required`)
  }
  return kp
}

/** A query on `target` that fails with `err` once it runs (it runs when first read). */
function failedQuery (dht, target, err) {
  const q = new Query(dht, target, 'lookup')
  q._open = (cb) => cb(err)
  return q
}

// lookupAndUnannounce with JS-side signing (hyperdht index.js: lookupAndUnannounce).
function hookedLookupAndUnannounce (dht, t, keyPair, opts) {
  const kp = keyPairArg(keyPair)
  const signUnannounce = opts.signUnannounce || defaultSignUnannounce
  const unannounces = []
  const q = dht.lookup(t, opts)
  q._onmap = (data) => {
    if (!data.token || !data.from.id) return
    const found = data.peers.length >= 20 || data.peers.some((p) => p.publicKey.equals(kp.publicKey))
    if (!found) return
    const unann = { peer: { publicKey: kp.publicKey, relayAddresses: [] }, refresh: null, signature: null }
    unannounces.push((async () => {
      const signature = await signUnannounce(t, data.token, data.from.id, unann, keyPair)
      const value = binding.encodeAnnounce(kp.publicKey, [], signature, 0)
      await dht.request({ token: data.token, target: t, command: COMMANDS.UNANNOUNCE, value }, data.from)
    })().catch(noop))
  }
  // hyperdht: commit = await the unannounces, then opts.commit
  const userCommit = typeof opts.commit === 'function' ? opts.commit : null
  q._commit = async (reply, dht, query) => {
    await Promise.all(unannounces)
    if (userCommit) return userCommit(reply, dht, query)
  }
  return q
}


async function immutablePut (dht, value, opts = {}) {
  value = bufferArg(value, 'value')
  const target = hash(value)
  const q = dht._startQuery({ value, ...queryOpts(opts) }, 'immutablePut', target)
  await q.finished()
  return { hash: target, closestNodes: q.closestNodes }
}

async function immutableGet (dht, target, opts = {}) {
  const hash = buffer32(target, 'hash')
  if (dht.destroyed) throw errors.rpcDestroyed()
  const spec = queryOpts(opts)
  spec.kind = 'immutableGet'
  spec.target = hash
  spec.concurrency = spec.concurrency || dht.concurrency
  return new Promise((resolve, reject) => {
    new FirstReply(dht, 'immutableGet', resolve, reject)._start((onevent) => dht._native.query(spec, onevent))
  })
}

async function mutablePut (dht, keyPair, value, opts = {}) {
  const kp = signerKeyPair(keyPair, opts.signMutable, 'signMutable')
  value = bufferArg(value, 'value')
  const seq = opts.seq || 0
  const target = hash(kp.publicKey)
  let signature
  if (nonCustodial(keyPair, kp, opts.signMutable)) {
    signature = await (opts.signMutable || defaultSignMutable)(seq, value, keyPair)
  }
  // hyperdht signs and sends c.encode(m.mutablePutRequest, {seq, ...}): the seq as encoded
  const q = dht._startQuery({ keyPair: kp, value, seq: uintArg(seq), signature, ...queryOpts(opts) }, 'mutablePut', target)
  await q.finished()
  return { publicKey: kp.publicKey, closestNodes: q.closestNodes, seq, signature: q.result.signature }
}

async function mutableGet (dht, publicKey, opts = {}) {
  const pk = buffer32(publicKey, 'publicKey')
  const target = hash(pk)
  const userSeq = opts.seq || 0
  const latest = opts.latest !== false
  const q = dht._startQuery({ publicKey: pk, seq: uintArg(userSeq), ...queryOpts(opts) }, 'mutableGet', target)
  let result = null
  // hyperdht: opts.refresh(result) => true re-puts the latest record to the closest nodes
  let refresh = opts.refresh || null
  let signed = null
  if (refresh) {
    q._commit = (reply, dht) => {
      if (!signed && result && refresh) {
        if (refresh(result)) signed = binding.encodeMutablePut(pk, result.seq, result.value, result.signature)
        else refresh = null
      }
      return signed
        ? dht.request({ token: reply.token, target, command: COMMANDS.MUTABLE_PUT, value: signed }, reply.from)
        : Promise.resolve(null)
    }
  }
  // Replies are verified in Rust (signature + seq >= the seq asked with) before they reach JS;
  // hyperdht compares with the seq as given too (a fraction is cut on the wire, not here)
  for await (const node of q) {
    if (result && node.seq <= result.seq) continue
    if (node.seq < userSeq) continue
    if (!latest) {
      q.destroy()
      return node
    }
    result = node
  }
  return result
}

// A seq as compact-encoding's c.uint writes it (hyperdht encodes every seq with it): what it
// rejects throws its error ("uint must be between 0 and 2^53 - 1, use biguint"), what it takes
// (numeric strings, fractions) is the number it writes
function uintArg (n) {
  return c.decode(c.uint, c.encode(c.uint, n))
}

function hash (data) {
  return binding.hash(data)
}

function parseHostPort (s) {
  const i = s.lastIndexOf(':')
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }
}

// Signing goes through JS when the caller brings a hook or an external signer (`keyPair.sign`).
function nonCustodial (keyPair, kp, hook) {
  return !!hook || !kp.secretKey || typeof keyPair.sign === 'function'
}

// hyperdht's defaults (lib/persistent.js statics; keyPair.sign preferred over the secret key)
const defaultSignAnnounce = (...args) => Persistent.signAnnounce(...args)
const defaultSignUnannounce = (...args) => Persistent.signUnannounce(...args)
const defaultSignMutable = (...args) => Persistent.signMutable(...args)

function noop () {}

module.exports = { announce, lookupAndUnannounce, immutablePut, immutableGet, mutablePut, mutableGet }
