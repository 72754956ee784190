'use strict'
// Code that wraps `Holepuncher.prototype._punch` (require('hyperdht/lib/holepuncher')) to watch or
// hold punching, as upstream's relaying tests do to keep a connection on its relay for a while.
// Our punching runs in the engine, which asks JS before it punches only when there is a holepunch
// veto; while `_punch` is wrapped every connect and server asks (the veto answer waits), and the
// answer runs the wrapper on a Holepuncher describing the punch (`dht`, `isInitiator`, the remote's
// firewall and addresses, our NAT verdict) before it lets the engine go on. The wrapped call's
// result is not used (upstream's `_punch` reports whether it started probing; ours never probes):
// the engine punches once it settles, and not at all if it throws.
const Holepuncher = require('./holepuncher')

const OWN_PUNCH = Holepuncher.prototype._punch

/** Whether `Holepuncher.prototype._punch` has been replaced. */
function punchWrapped () {
  return Holepuncher.prototype._punch !== OWN_PUNCH
}

/**
 * Runs the wrapped `_punch` for the punch the engine is about to make; resolves whether the
 * engine may punch (false when the wrapper threw or rejected).
 * @param dht the HyperDHT punching
 * @param isInitiator true for a connect, false for a server
 * @param v the veto question (remoteFirewall, localFirewall, remoteAddresses, localAddresses)
 */
async function punchGate (dht, isInitiator, v) {
  const p = new Holepuncher(dht, null, isInitiator, v.remoteFirewall)
  p.remoteAddresses = (v.remoteAddresses || []).map(({ host, port }) => ({ host, port, verified: true }))
  p.nat.firewall = v.localFirewall
  p.nat.addresses = v.localAddresses || null
  try {
    await p.punch()
    return true
  } catch {
    return false
  } finally {
    p.connected = true // ended by us, not aborted
    p.destroy()
  }
}

/**
 * Answers the engine's question before a punch: `answer(allow)` with the app's veto verdict, or,
 * when that allows and `_punch` is wrapped, `answer(go)` once the wrapper settled (see
 * {@link punchGate}). Connects and servers alike.
 */
function answerPunch (dht, isInitiator, v, allow, answer) {
  if (allow && punchWrapped()) punchGate(dht, isInitiator, v).then(answer)
  else answer(allow)
}

module.exports = { punchWrapped, answerPunch }
