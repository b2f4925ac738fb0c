'use strict'
// Shared helpers of the node:test suite: temporary inventories, local LXC,
// and the lab.
//
// Lab tests need the test lab (`tests/lab/lab up`): its inventory
// tests/lab/out/flockport.toml, the namespaces s1 s2 s3, and the lab addresses
// routed to lab0 (so no packet can leave the machine). Without it they skip
// with a message naming `tests/lab/lab up`, unless FLOCKPORT_LAB=required,
// where a missing lab fails.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..')
// FLOCKPORT_LAB_INVENTORY overrides the lab's inventory (to exercise the skip path).
const LAB_INVENTORY =
  process.env.FLOCKPORT_LAB_INVENTORY || path.join(REPO, 'tests', 'lab', 'out', 'flockport.toml')

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flockport-node-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return ''
  }
}

/** Why the lab is not usable, or null when it is up. */
function labMissing() {
  if (!fs.existsSync(LAB_INVENTORY)) {
    const shown = LAB_INVENTORY.startsWith(REPO + path.sep) ? path.relative(REPO, LAB_INVENTORY) : LAB_INVENTORY
    return `the lab is not up (no ${shown}): run \`tests/lab/lab up\``
  }
  const names = new Set(
    run('ip', ['netns', 'list'])
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.split(/\s+/)[0]),
  )
  for (const s of ['s1', 's2', 's3']) {
    if (!names.has(s)) return `lab namespace ${s} is missing: run \`tests/lab/lab up\``
  }
  for (const addr of ['192.168.122.11', '10.0.4.20', '10.0.5.20', '10.0.7.20']) {
    const route = run('ip', ['route', 'get', addr])
    if (!route.includes('dev lab0')) {
      return `${addr} is not routed to lab0 (${route.trim()}): run \`tests/lab/lab up\``
    }
  }
  return null
}

/**
 * Options for a lab test: `{ skip: reason }` without the lab, unless
 * FLOCKPORT_LAB=required (then the test runs and fails on `requireLab`).
 */
function labOptions() {
  const why = labMissing()
  if (why && process.env.FLOCKPORT_LAB !== 'required') return { skip: why }
  return {}
}

/** The lab's inventory path; throws when the lab is required but missing. */
function requireLab() {
  const why = labMissing()
  if (why) throw new Error(`FLOCKPORT_LAB=required but ${why}`)
  return LAB_INVENTORY
}

/** The lab's servers with a state of the test's own: a Cluster opened on a
 * copy of the lab's inventory without its `state` line, in the test's tmpdir. */
function labCopy(t) {
  const { Cluster } = require('..')
  const inv = path.join(tmpdir(t), 'flockport.toml')
  const text = fs.readFileSync(requireLab(), 'utf8').split('\n').filter((l) => !l.startsWith('state')).join('\n')
  fs.writeFileSync(inv, text + '\n')
  return Cluster.open(inv)
}

function lxcMissing() {
  if (!run('sh', ['-c', 'command -v lxc-ls'])) return 'LXC is not installed (apt-get install lxc)'
  if (!fs.existsSync('/var/lib/lxc')) return '/var/lib/lxc does not exist (apt-get install lxc)'
  return null
}

/** Options for a test that needs LXC on this machine. */
function lxcOptions() {
  const why = lxcMissing()
  return why ? { skip: why } : {}
}

/**
 * A local server `g1` whose lxcpath is a temporary directory holding one
 * container directory, `ghost`, that LXC cannot run: real commands on it fail
 * harmlessly. Images are built with the lxc-create template `template` and
 * no arguments. Returns the inventory path.
 */
function ghostInventory(dir, template = 'none') {
  const lxcpath = path.join(dir, 'lxc')
  fs.mkdirSync(path.join(lxcpath, 'ghost'), { recursive: true })
  fs.writeFileSync(
    path.join(lxcpath, 'ghost', 'config'),
    'lxc.uts.name = ghost\nlxc.net.0.ipv4.address = 10.0.99.5/24\n',
  )
  const inv = path.join(dir, `ghost-${template}.toml`)
  fs.writeFileSync(
    inv,
    [
      '[[server]]',
      'name = "g1"',
      'transport = "local"',
      'subnet = "10.0.99.0/24"',
      `lxcpath = "${lxcpath}"`,
      '[server.image]',
      `template = "${template}"`,
      'args = []',
      '',
    ].join('\n'),
  )
  return inv
}

module.exports = {
  REPO,
  LAB_INVENTORY,
  tmpdir,
  labMissing,
  labOptions,
  requireLab,
  labCopy,
  lxcOptions,
  ghostInventory,
}
