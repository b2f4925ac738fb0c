'use strict'
// The state in Consul KV (lab + real Consul): a cluster opens the same way with either store.
// One endpoint is made for the test (addEp), the state moved to it and back with migrateState,
// and removed again (delEp with force), also on failure.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('..')
const { labOptions, requireLab, tmpdir } = require('./support.js')

function consulOnPath() {
  try {
    execFileSync('sh', ['-c', 'command -v consul'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

test('state: a cluster opens the same way with either store', { ...labOptions(), timeout: 300000 }, async (t) => {
  if (!consulOnPath()) {
    if (process.env.FLOCKPORT_LAB === 'required') throw new Error('FLOCKPORT_LAB=required but no `consul` on PATH')
    t.skip('no consul on PATH')
    return
  }
  const dir = tmpdir(t)
  const inv = path.join(dir, 'flockport.toml')
  const text = fs.readFileSync(requireLab(), 'utf8').split('\n').filter((l) => !l.startsWith('state')).join('\n')
  fs.writeFileSync(inv, text + '\n')
  const stateFile = path.join(dir, 'flockport-state.json')
  const c = Cluster.open(inv)
  await c.addEp('s1', '10.0.4.10')
  try {
    const planned = await c.migrateState('consul', { dryRun: true })
    assert.equal(planned.executed, false)
    assert.ok(!fs.readFileSync(inv, 'utf8').includes('backend'))
    const moved = await c.migrateState('consul')
    assert.equal(moved.record.source, 'file')
    assert.equal(moved.record.target, 'consul')
    assert.deepEqual(moved.record.endpoints, ['s1/10.0.4.10'])
    assert.ok(fs.readFileSync(inv, 'utf8').includes('backend = "consul"'))
    assert.ok(!fs.existsSync(stateFile))
    // Another process's view: opened from the inventory alone, the state read from Consul.
    const other = Cluster.open(inv)
    assert.deepEqual(Object.keys((await other.state()).eps), ['consul-10'])
    assert.deepEqual(Object.keys(other.stateBlocking().eps), ['consul-10'])
    await other.addContainer({ server: 's2', name: 'nodestate1' })
    try {
      assert.ok('nodestate1' in (await c.state()).containers, 'a change through one is seen by the other')
    } finally {
      await other.delContainer('nodestate1')
    }
    const back = await c.migrateState('file')
    assert.equal(back.record.target, 'file')
    assert.ok(fs.existsSync(stateFile))
    assert.deepEqual(Object.keys((await Cluster.open(inv).state()).eps), ['consul-10'])
  } finally {
    if (fs.readFileSync(inv, 'utf8').includes('backend = "consul"')) await c.migrateState('file')
    await c.delEp('consul-10', true)
  }
})
