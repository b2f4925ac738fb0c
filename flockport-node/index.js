'use strict'
// flockport: managed services on clusters of LXC hosts, from Node.
// Loads the native addon built for this platform; its API is described by
// index.d.ts. The addon is built by `npm run build` (napi CLI), by the npm
// install script, or, when npm skipped that script (npm 11 blocks dependency
// install scripts by default), here on first use with cargo; set
// FLOCKPORT_NODE_NO_AUTOBUILD=1 to get an error instead.

const { existsSync } = require('node:fs')
const { addonPath, buildAddon } = require('./scripts/build-addon.js')

if (!existsSync(addonPath)) {
  if (process.env.FLOCKPORT_NODE_NO_AUTOBUILD) {
    throw new Error(
      `flockport: the native addon ${addonPath} is missing: run \`npm run build\` in ` +
        `${__dirname} (needs Rust: https://rustup.rs)`,
    )
  }
  buildAddon()
}

const addon = require(addonPath)

// `State`'s getters, one per field the core declares for it (each converts
// its part when read; see src/state.rs).
const state = JSON.parse(addon._api()).records.find((r) => r.name === 'State')
for (const { name, camel } of state.fields) {
  Object.defineProperty(addon.State.prototype, camel, {
    get() {
      return this._field(name)
    },
    enumerable: false,
    configurable: true,
  })
}

module.exports = addon
