'use strict'
// Processes the rig starts in namespaces exit when the rig closes their stdin (or dies), and after
// a hard deadline in any case, so nothing outlives a crashed controller.
module.exports = function exitWithStdin (maxMs, onexit = () => {}) {
  const bye = (code) => {
    Promise.resolve().then(onexit).catch(() => {}).finally(() => process.exit(code))
    setTimeout(() => process.exit(code), 2000).unref()
  }
  process.stdin.on('end', () => bye(0))
  process.stdin.on('error', () => bye(0))
  process.stdin.resume()
  setTimeout(() => bye(3), maxMs).unref()
}
