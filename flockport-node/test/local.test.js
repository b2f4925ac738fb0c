'use strict'
// The local transport on this machine's LXC (it probes /var/lib/lxc).

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Cluster } = require('..')
const { tmpdir, lxcOptions } = require('./support.js')

test('a local server lists', lxcOptions(), async (t) => {
  const c = Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
  await c.addServer({ name: 'here', subnet: '10.0.3.0/24', local: true })
  const [status] = await c.listServers()
  assert.equal(status.reachable, true, status.error)
  assert.equal(status.error, undefined)
  assert.equal(status.host, 'local')
  assert.equal(status.subnet, '10.0.3.0/24')
  assert.match(status.lxcVersion, /^\d/)
  assert.ok(status.containers >= 0 && status.images >= 0 && status.millis >= 0)
  const facts = await c.probe('here')
  assert.equal(facts.lxcVersion, status.lxcVersion)
  for (const ct of await c.containers()) assert.equal(ct.server, 'here')
})
