'use strict'
// Interrupting a change from Node (lab): it stops starting steps, rolls back
// what it did on the server, records nothing, rejects with code
// 'Interrupted', and the same call then succeeds.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster, interrupt } = require('..')
const { labOptions, requireLab } = require('./support.js')

test('interrupt() with no change running returns false', () => {
  assert.equal(interrupt(), false)
})

test('lab: interrupt() rolls a change back and a retry succeeds', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const name = `jsint${process.pid % 10000}`
  let seen = false
  const progress = (e) => {
    if (e.step.description.includes('create container')) {
      seen = true
      interrupt()
    }
  }
  await assert.rejects(c.addLb({ kind: 'haproxy', server: 's3', name }, {}, progress), (e) => {
    assert.equal(e.code, 'Interrupted')
    assert.match(e.message, /run it again/)
    return true
  })
  assert.ok(seen)
  assert.equal(c.stateBlocking().lbs[name], undefined)
  const names = (await c.containers('s3')).map((x) => x.name)
  assert.ok(!names.includes(name), 'the container was rolled back')
  try {
    const applied = await c.addLb({ kind: 'haproxy', server: 's3', name })
    assert.equal(applied.executed, true)
    assert.ok(c.stateBlocking().lbs[name])
  } finally {
    await c.delLb(name)
  }
})
