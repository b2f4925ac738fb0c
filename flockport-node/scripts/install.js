'use strict'
// npm `install` script: builds the native addon with cargo when it is not
// there yet, so that `npm install ./flockport-node` works from a source tree.
//
//   FLOCKPORT_NODE_REBUILD=1     rebuild even if the addon exists
//   FLOCKPORT_NODE_SKIP_BUILD=1  do nothing (ci.sh builds with the napi CLI)

const { existsSync } = require('node:fs')
const { addonPath, buildAddon } = require('./build-addon.js')

if (process.env.FLOCKPORT_NODE_SKIP_BUILD) {
  // Nothing to do.
} else if (existsSync(addonPath) && !process.env.FLOCKPORT_NODE_REBUILD) {
  console.log(`flockport: using ${addonPath}`)
} else {
  try {
    buildAddon()
  } catch (e) {
    console.error(e.message)
    process.exitCode = 1
  }
}
