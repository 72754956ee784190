'use strict'
// The hyperdht-rs addon files this process has loaded (from the process report's shared objects),
// so the packaging test can tell which binary a require() actually used.
const fs = require('fs')

function loadedAddons () {
  const objects = process.report.getReport().sharedObjects || []
  return [...new Set(objects.filter((f) => /hyperdht-rs\.[^/\\]+\.node$/.test(f)).map((f) => fs.realpathSync(f)))]
}

module.exports = { loadedAddons }
