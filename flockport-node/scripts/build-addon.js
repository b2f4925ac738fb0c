'use strict'
// Builds the native addon from this source tree with cargo (no napi CLI
// needed) and copies it to flockport.<platform>.node next to index.js.
// Used by the npm `install` script and, when npm skipped that script (npm 11
// blocks dependency install scripts by default), by index.js on first use.

const { spawnSync } = require('node:child_process')
const { copyFileSync, existsSync, rmSync } = require('node:fs')
const { join } = require('node:path')
const { addonFileName } = require('./platform.js')

const root = join(__dirname, '..')
const addonPath = join(root, addonFileName())

/** Builds the addon; returns its path. Progress and cargo's diagnostics go to stderr. */
function buildAddon() {
  const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'flockport: building the native addon needs Rust (cargo), which was not found: ' +
        'install it from https://rustup.rs, then run `npm run build` in ' +
        root,
    )
  }
  if (!existsSync(join(root, 'Cargo.toml'))) {
    throw new Error(`flockport: ${root} holds no Cargo.toml to build the addon from`)
  }
  process.stderr.write('flockport: building the native addon (cargo build --release -p flockport-node)\n')
  const build = spawnSync(
    'cargo',
    [
      'build',
      '--release',
      '--message-format=json-render-diagnostics',
      '--manifest-path',
      join(root, 'Cargo.toml'),
      '-p',
      'flockport-node',
    ],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 },
  )
  if (build.error || build.status !== 0) {
    throw new Error(`flockport: cargo build failed (${build.error || `exit ${build.status}`})`)
  }
  let built = null
  for (const line of build.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    const msg = JSON.parse(line)
    if (
      msg.reason === 'compiler-artifact' &&
      msg.target.name === 'flockport_node' &&
      msg.target.kind.includes('cdylib')
    ) {
      built = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || built
    }
  }
  if (!built) throw new Error('flockport: cargo did not report the flockport_node library')
  rmSync(addonPath, { force: true })
  copyFileSync(built, addonPath)
  process.stderr.write(`flockport: built ${addonPath}\n`)
  return addonPath
}

module.exports = { addonPath, buildAddon }
