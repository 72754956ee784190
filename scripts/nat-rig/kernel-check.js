'use strict'
// Can this kernel run the rig? Builds one scratch namespace with a veth pair and the `random`
// ruleset (nat + filter tables, masquerade fully-random, ct state): returns null when it can, or
// the reason it cannot. Missing commands are reported by preflight() first.
const Netns = require('./netns')
const { ruleset } = require('./nat-rules')
const { preflight } = require('./topology')

async function kernelProblem () {
  const missing = preflight()
  if (missing.length) return missing.join('; ')
  let ns = null
  try {
    ns = await Netns.create('kernel-check')
    ns.ip(['link add wan type veth peer name lan', 'link set wan up', 'link set lan up'])
    ns.run('nft', ['-f', '-'], { input: ruleset('random') })
    ns.run('conntrack', ['-F'])
    return null
  } catch (err) {
    return err.message
  } finally {
    if (ns) ns.destroy()
  }
}

module.exports = { kernelProblem }
