'use strict'
// Core records become plain typed JS objects; Promises for server work.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Cluster, State, Transport } = require('..')
const { tmpdir, lxcOptions, ghostInventory } = require('./support.js')

test('ServerConfig fields and the inventory', async (t) => {
  const dir = tmpdir(t)
  const inv = path.join(dir, 'flockport.toml')
  const key = path.join(dir, 'id')
  fs.writeFileSync(key, 'k')
  const sshConfig = path.join(dir, 'ssh_config')
  fs.writeFileSync(sshConfig, 'KexAlgorithms curve25519-sha256\n')
  const c = Cluster.open(inv)
  const pending = c.addServer({
    name: 's1',
    subnet: '10.0.4.0/24',
    host: '192.0.2.7',
    user: 'admin',
    port: 2222,
    identity: key,
    sshConfig,
  })
  assert.ok(pending instanceof Promise)
  const s = await pending
  assert.deepEqual(s, {
    name: 's1',
    host: '192.0.2.7',
    port: 2222,
    user: 'admin',
    identity: key,
    sshConfig,
    subnet: '10.0.4.0/24',
    gateway: '10.0.4.1',
    bridge: 'lxcbr0',
    transport: 'ssh',
    lxcpath: '/var/lib/lxc',
    image: { template: 'debian', args: ['-r', 'bookworm'] },
  })
  assert.deepEqual(c.server('s1'), s)
  const local = await c.addServer({ name: 's2', subnet: '10.0.5.0/24', local: true })
  assert.equal(local.transport, 'local')
  assert.equal(local.host, undefined)
  assert.deepEqual(
    c.servers().map((x) => x.name),
    ['s1', 's2'],
  )
  assert.equal(c.inventoryPath(), inv)
  // Another handle sees the same file; deleting through it works.
  const other = Cluster.openWith(inv)
  await other.delServer('s1')
  assert.deepEqual(
    other.servers().map((x) => x.name),
    ['s2'],
  )
  assert.deepEqual(
    Cluster.open(inv).servers().map((x) => x.name),
    ['s2'],
  )
})

test('FLOCKPORT_CONFIG is the default inventory', async (t) => {
  const inv = path.join(tmpdir(t), 'flockport.toml')
  await Cluster.open(inv).addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const before = process.env.FLOCKPORT_CONFIG
  process.env.FLOCKPORT_CONFIG = inv
  t.after(() => {
    if (before === undefined) delete process.env.FLOCKPORT_CONFIG
    else process.env.FLOCKPORT_CONFIG = before
  })
  assert.deepEqual(
    Cluster.open().servers().map((s) => s.name),
    ['s1'],
  )
})

test('reopen() reads the inventory again, with the same state file', async (t) => {
  const dir = tmpdir(t)
  const inv = path.join(dir, 'flockport.toml')
  const state = path.join(dir, 'other-state.json')
  fs.writeFileSync(state, JSON.stringify({ schema: 1, containers: {}, counters: { x: 7 } }))
  const a = Cluster.openWith(inv, state)
  await Cluster.open(inv).addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  assert.deepEqual(a.servers(), [])
  const b = a.reopen()
  assert.ok(b instanceof Cluster)
  assert.deepEqual(b.servers().map((s) => s.name), ['s1'])
  assert.deepEqual((await b.state()).counters, { x: 7 })
  assert.deepEqual(a.servers(), [])
})

test('State, records and a dry-run delContainer from an explicit state file', async (t) => {
  const dir = tmpdir(t)
  const state = path.join(dir, 'elsewhere.json')
  fs.writeFileSync(
    state,
    JSON.stringify({
      schema: 1,
      containers: {
        web1: { server: 's1', address: '10.0.4.100', image: 'fp-img-base-1', role: 'app' },
      },
      counters: { web: 1 },
    }),
  )
  const c = Cluster.openWith(path.join(dir, 'flockport.toml'), state)
  const st = await c.state()
  assert.ok(st instanceof State)
  // A schema 1 file is read through the migration to the current schema.
  assert.equal(st.schema, 8)
  assert.deepEqual([st.containerServices, st.agents], [{}, []])
  assert.deepEqual(st.dbs, {})
  assert.deepEqual(st.containers.web1, {
    server: 's1',
    address: '10.0.4.100',
    image: 'fp-img-base-1',
    role: 'app',
  })
  assert.deepEqual(st.counters, { web: 1 })
  assert.deepEqual(st.lbs, {})
  // Getters convert at each read: fresh objects, equal values.
  assert.notEqual(st.containers, st.containers)
  assert.deepEqual(st.containers, st.containers)
  // toJSON() (and so JSON.stringify) is the state file's data.
  const data = JSON.parse(fs.readFileSync(state, 'utf8'))
  assert.deepEqual(st.toJSON().containers, data.containers)
  assert.deepEqual(st.toJSON().counters, data.counters)
  assert.deepEqual(JSON.parse(JSON.stringify(st)), st.toJSON())
  assert.deepEqual(st.toJSON().lbs, {})
  // The synchronous read gives the same state.
  assert.ok(c.stateBlocking() instanceof State)
  assert.deepEqual(c.stateBlocking().toJSON(), st.toJSON())
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const applied = await c.delContainer('web1', { dryRun: true })
  assert.equal(applied.executed, false)
  assert.deepEqual(applied.record, st.containers.web1)
  assert.ok(applied.plan.steps.some((s) => s.kind === 'run' && s.argv.some((a) => a.includes('lxc-destroy'))))
  assert.deepEqual(applied.plan.stateChanges, ['remove container web1'])
  assert.deepEqual((await c.state()).containers, st.containers)
})

test('State.lbs (built by JSON.parse) gives the objects napi builds for the same records', async (t) => {
  const dir = tmpdir(t)
  const state = path.join(dir, 'flockport-state.json')
  const lb = (name, kind, extra) => ({ name, kind, server: 's1', mode: 'roundrobin', published: [], ...extra })
  fs.writeFileSync(
    state,
    JSON.stringify({
      schema: 1,
      containers: {},
      lbs: {
        'fpjson-ha': lb('fpjson-ha', 'haproxy', {
          address: '10.0.4.90',
          backends: [
            { name: 'w1', host: '10.0.4.20', port: 80 },
            { name: 'w2', host: '10.0.5.20', port: 9000 },
          ],
          tls: 'ab'.repeat(32),
          workers: 2,
          resolvers: ['10.0.0.53'],
          published: [80, 443],
        }),
        'fpjson-ng': lb('fpjson-ng', 'nginx', {
          address: '10.0.4.91',
          mode: 'ip_hash',
          url: 'example.org',
          backends: [{ host: '10.0.4.20', port: 80 }, { host: 'app.lab', port: 8080 }],
        }),
      },
      counters: {},
    }),
  )
  const c = Cluster.open(path.join(dir, 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const lbs = (await c.state()).lbs
  // lbs() converts its records field by field through N-API (no container
  // exists, so every health is "unknown"): the reference shape.
  const infos = await c.lbs()
  assert.equal(infos.length, 2)
  for (const info of infos) {
    const mine = lbs[info.record.name]
    assert.deepStrictEqual(mine, info.record)
    assert.deepEqual(Object.keys(mine), Object.keys(info.record))
    mine.backends.forEach((b, i) => assert.deepEqual(Object.keys(b), Object.keys(info.record.backends[i])))
  }
  assert.equal(lbs['fpjson-ha'].tls, 'ab'.repeat(32))
  assert.equal(lbs['fpjson-ha'].workers, 2)
  assert.equal('url' in lbs['fpjson-ha'], false)
  assert.equal('tls' in lbs['fpjson-ng'], false)
  assert.equal(lbs['fpjson-ng'].backends[1].spec, 'app.lab:8080')
  // toJSON() is the getters' data: a JSON round trip gives it back.
  const st = await c.state()
  assert.deepStrictEqual(JSON.parse(JSON.stringify(st)).lbs, st.lbs)
  assert.deepStrictEqual(st.toJSON().lbs, st.lbs)
})

test('plans, steps and records of a dry run', lxcOptions(), async (t) => {
  const c = Cluster.open(ghostInventory(tmpdir(t)))
  const applied = await c.addContainer(
    { server: 'g1', name: 'web1', packages: ['nginx'], address: '10.0.99.7' },
    { dryRun: true },
  )
  assert.equal(applied.executed, false)
  const { record, plan } = applied
  assert.equal(record.server, 'g1')
  assert.equal(record.address, '10.0.99.7')
  assert.equal(record.role, 'app')
  assert.match(record.image, /^fp-img-nginx-/)
  assert.equal(plan.operation, 'addcontainer web1 on g1')
  assert.ok(plan.steps.length > 0)
  for (const s of plan.steps) {
    assert.equal(s.server, 'g1')
    assert.ok(['run', 'write_file'].includes(s.kind))
    if (s.kind === 'run') {
      assert.ok(Array.isArray(s.argv) && s.argv.length > 0)
      assert.equal(s.path, undefined)
    } else {
      assert.equal(typeof s.path, 'string')
      assert.equal(typeof s.mode, 'number')
      assert.equal(typeof s.content, 'string')
    }
    assert.ok(s.rendered.includes(s.description))
  }
  assert.match(plan.rollback[0].rendered, /lxc-destroy/)
  assert.ok(plan.rendered.startsWith('plan: addcontainer web1 on g1'))
  assert.deepEqual((await c.state()).containers, {})
  await assert.rejects(
    c.addContainer({ server: 'g1', name: 'web2', address: '10.0.99.5' }, { dryRun: true }),
    { code: 'InvalidInput', message: /10\.0\.99\.5/ },
  )
  const img = await c.buildImage('g1', ['haproxy'], { dryRun: true })
  assert.equal(img.executed, false)
  assert.match(img.record, /^fp-img-haproxy-/)
})

test('buildImage runs for real and reports progress', lxcOptions(), async (t) => {
  // LXC's `none` template: a real lxc-create in a temporary lxcpath.
  const c = Cluster.open(ghostInventory(tmpdir(t)))
  const seen = []
  const applied = await c.buildImage('g1', [], {}, (ev) => seen.push([ev.index, ev.total, ev.step.kind]))
  assert.equal(applied.executed, true)
  assert.match(applied.record, /^fp-img-base-/)
  // Progress events reach the JS thread asynchronously (a queue of their own).
  for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10))
  // lxc-create, the static network config, the mark that the build finished.
  assert.deepEqual(seen, [
    [0, 3, 'run'],
    [1, 3, 'write_file'],
    [2, 3, 'write_file'],
  ])
  const facts = await c.probe('g1')
  const image = facts.containers.find((x) => x.name === applied.record)
  assert.ok(image && image.isImage)
  assert.deepEqual(
    (await c.containers()).map((x) => x.name),
    ['ghost'],
  )
  const again = await c.buildImage('g1', [])
  assert.equal(again.executed, true)
  assert.deepEqual(again.plan.steps, [])
})

test('probe, containers, locate, transport', lxcOptions(), async (t) => {
  const c = Cluster.open(ghostInventory(tmpdir(t)))
  const facts = await c.probe('g1')
  assert.ok(facts.lxcVersion)
  assert.equal(typeof facts.overlay, 'boolean')
  const [ghost] = facts.containers
  assert.equal(facts.containers.length, 1)
  assert.equal(ghost.name, 'ghost')
  assert.equal(ghost.server, 'g1')
  assert.equal(ghost.isImage, false)
  assert.equal(ghost.configuredIpv4, '10.0.99.5')
  assert.equal(ghost.address, '10.0.99.5')
  assert.deepEqual(ghost.ipv4, [])
  assert.deepEqual(await c.containers('g1'), [ghost])
  const located = await c.locate('ghost')
  assert.equal(located.server.name, 'g1')
  assert.deepEqual(located.container, ghost)
  const [r] = await c.probeAll(['g1'])
  assert.deepEqual(r.facts, facts)
  assert.equal(r.error, undefined)
  assert.equal(typeof r.millis, 'number')
  const tr = c.transport('g1')
  assert.ok(tr instanceof Transport)
  assert.equal(tr.server(), 'g1')
  const out = await tr.exec(['sh', '-c', 'cat; echo err >&2; exit 3'], Buffer.from('in\n'))
  assert.equal(out.status, 3)
  assert.ok(Buffer.isBuffer(out.stdout))
  assert.equal(out.stdout.toString(), 'in\n')
  assert.equal(out.stderr.toString(), 'err\n')
  await assert.rejects(c.setRunning('nosuch', true, { dryRun: true }), { code: 'NotFound' })
})

test('operations run concurrently', async (t) => {
  const c = Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
  for (let i = 0; i < 4; i++) {
    await c.addServer({ name: `d${i}`, subnet: `10.0.${10 + i}.0/24`, host: '127.0.0.1', port: 1 })
  }
  const all = await Promise.all(Array.from({ length: 8 }, () => c.listServers()))
  assert.equal(all.length, 8)
  for (const statuses of all) {
    assert.equal(statuses.length, 4)
    assert.ok(statuses.every((s) => !s.reachable))
  }
  // Concurrent inventory edits are serialised; none is lost.
  await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      c.addServer({ name: `x${i}`, subnet: `10.0.${30 + i}.0/24`, local: true }),
    ),
  )
  assert.equal(c.servers().length, 9)
})
