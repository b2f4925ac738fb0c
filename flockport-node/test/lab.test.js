'use strict'
// Against the lab (tests/lab/lab up): three servers over SSH, c1..c5 running.

const { spawnSync } = require('node:child_process')
const path = require('node:path')
const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('..')
const { labOptions, requireLab } = require('./support.js')

const APPS = {
  c1: ['s1', '10.0.4.20'],
  c2: ['s1', '10.0.4.21'],
  c3: ['s2', '10.0.5.20'],
  c4: ['s2', '10.0.5.21'],
  c5: ['s3', '10.0.7.20'],
}

test('lab: listServers', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const statuses = new Map((await c.listServers()).map((s) => [s.name, s]))
  for (const name of ['s1', 's2', 's3']) {
    const s = statuses.get(name)
    assert.ok(s, `${name} in the inventory`)
    assert.equal(s.reachable, true, s.error)
    assert.ok(s.lxcVersion)
    assert.ok(s.containers >= 1)
  }
})

test('lab: status', labOptions(), async () => {
  const st = await Cluster.open(requireLab()).status()
  assert.deepEqual(st.servers.map((s) => s.name), ['s1', 's2', 's3'])
  assert.ok(st.servers.every((s) => s.reachable))
  const unmanaged = st.drift.filter((d) => d.kind === 'unmanaged').map((d) => d.name)
  for (const name of Object.keys(APPS)) assert.ok(unmanaged.includes(name), `${name} unmanaged: ${unmanaged}`)
  assert.deepEqual(st.absent, [])
  assert.equal(typeof st.healthy, 'boolean')
  assert.ok(Array.isArray(st.items) && st.millis >= 0)
})

test('lab: containers, locate, exec', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const found = new Map((await c.containers()).map((x) => [x.name, x]))
  for (const [name, [server, addr]] of Object.entries(APPS)) {
    const ct = found.get(name)
    assert.ok(ct, `${name} listed`)
    assert.equal(ct.server, server)
    assert.equal(ct.state, 'running')
    assert.equal(ct.address, addr)
  }
  const perServer = await Promise.all(['s1', 's2', 's3'].map((s) => c.containers(s)))
  assert.deepEqual(
    perServer.map((cs) => cs.map((x) => x.server).every((s, _, a) => s === a[0])),
    [true, true, true],
  )
  const { server, container } = await c.locate('c5')
  assert.equal(server.name, 's3')
  assert.equal(container.address, '10.0.7.20')
  const out = await c.exec('c1', ['hostname'])
  assert.equal(out.status, 0)
  assert.equal(out.stdout.toString().trim(), 'c1')
  const applied = await c.setRunning('c1', true, { dryRun: true })
  assert.equal(applied.executed, false)
  assert.deepEqual(applied.plan.steps, [])
  assert.equal(applied.record.state, 'running')
})

test('lab: addLb dry run', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const applied = await c.addLb(
    { kind: 'haproxy', server: 's1', name: 'nodeha1', backends: ['c1:10.0.4.20:80', 'c2:10.0.4.21:80'] },
    { dryRun: true },
  )
  assert.equal(applied.executed, false)
  const r = applied.record
  assert.equal(r.name, 'nodeha1')
  assert.equal(r.kind, 'haproxy')
  assert.equal(r.mode, 'roundrobin')
  assert.deepEqual(
    r.backends.map((b) => b.spec),
    ['c1:10.0.4.20:80', 'c2:10.0.4.21:80'],
  )
  assert.deepEqual(r.backends[0], { name: 'c1', host: '10.0.4.20', port: 80, spec: 'c1:10.0.4.20:80', key: 'c1' })
  assert.ok(applied.plan.steps.length > 0)
  assert.equal((await c.state()).lbs.nodeha1, undefined)
  for (const info of await c.lbs()) {
    assert.equal(typeof info.record.name, 'string')
    assert.ok(Array.isArray(info.health))
  }
})

test('lab: a real container on s3 is created, listed and deleted', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const name = `js-ct-${process.pid}`
  try {
    const applied = await c.addContainer({ server: 's3', name })
    assert.equal(applied.executed, true)
    assert.equal(applied.record.server, 's3')
    assert.match(applied.record.address, /^10\.0\.7\./)
    const listed = (await c.containers('s3')).find((x) => x.name === name)
    assert.ok(listed, `${name} listed on s3`)
    assert.equal(listed.state, 'running')
    assert.equal(listed.address, applied.record.address)
    assert.equal((await c.exec(name, ['hostname'])).stdout.toString().trim(), name)
    assert.ok((await c.state()).containers[name])
  } finally {
    if ((await c.state()).containers[name]) await c.delContainer(name)
  }
  assert.equal((await c.containers('s3')).find((x) => x.name === name), undefined)
  assert.equal((await c.state()).containers[name], undefined)
})

test('lab: examples/lb_walkthrough.js (addLb, addBackends, lbs, setLb, delBackends, publish, delLb)', labOptions(), async () => {
  const inventory = requireLab()
  const name = `ha-js-${process.pid}`
  const script = path.join(__dirname, '..', '..', 'examples', 'lb_walkthrough.js')
  const { status, stdout, stderr } = spawnSync(process.execPath, [script, inventory, name], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, FLOCKPORT_NODE_MODULE: path.join(__dirname, '..') },
  })
  assert.equal(status, 0, stdout + stderr)
  for (const line of ['30 requests (roundrobin)', '10 requests (source)', 'after delbackends web2', `dellb ${name}: removed`]) {
    assert.ok(stdout.includes(line), stdout)
  }
  assert.match(stdout, /walk-through passed\s*$/)
  const c = Cluster.open(inventory)
  assert.equal((await c.state()).lbs[name], undefined)
  assert.equal((await c.containers('s1')).find((x) => x.name === name), undefined)
})

test('lab: bad input rejects with a typed error naming the value, and changes nothing', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const state = (await c.state()).toJSON()
  const onS1 = (await c.containers('s1')).map((x) => x.name).sort()
  const cases = [
    ['InvalidInput', '10.0.4.999', () => c.addLb({ kind: 'haproxy', server: 's1', backends: ['w1:10.0.4.999:80'] })],
    ['InvalidInput', 'apache', () => c.addLb({ kind: 'apache', server: 's1' })],
    ['InvalidInput', 'bad;name', () => c.addContainer({ server: 's1', name: 'bad;name' })],
    ['InvalidInput', 'bad;name', () => c.addLb({ kind: 'haproxy', server: 's1', name: 'bad;name' })],
    ['NotFound', 's9', () => c.addLb({ kind: 'haproxy', server: 's9' })],
    ['NotFound', 'nosuch-lb', () => c.addBackends('nosuch-lb', ['w1:10.0.4.20:80'])],
    ['AlreadyExists', 'c1', () => c.addContainer({ server: 's1', name: 'c1' })],
  ]
  for (const [code, value, call] of cases) {
    await assert.rejects(call(), (e) => {
      assert.ok(e instanceof Error)
      assert.equal(e.code, code, e.message)
      assert.ok(e.message.includes(value), `${value} in ${e.message}`)
      return true
    })
  }
  assert.deepEqual((await c.state()).toJSON(), state)
  assert.deepEqual((await c.containers('s1')).map((x) => x.name).sort(), onS1)
})

test('lab: jobs (addJob, jobs, scaleJob, delJob) on real LXC', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  await assert.rejects(c.addJob({ base: 'c5', count: 1, strategy: 'spread' }), /spread/)
  try {
    const a = await c.addJob({ base: 'c5', count: 1, port: 80 })
    assert.equal(a.executed, true)
    assert.deepEqual(a.record.instances.map((i) => i.name), ['c5-1'])
    const [j] = await c.jobs()
    assert.equal(j.base, 'c5')
    assert.equal(j.running, 1)
    assert.equal(j.instances[0].state, 'running')
    assert.equal(j.instances[0].health, 'up')
    const s = await c.scaleJob('c5', '+1')
    assert.equal(s.record.instances.length, 2)
  } finally {
    if ((await c.state()).jobs.c5) await c.delJob('c5')
  }
  assert.deepEqual(await c.jobs(), [])
  assert.equal((await c.containers()).filter((x) => x.name.startsWith('c5-')).length, 0)
})
