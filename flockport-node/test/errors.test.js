'use strict'
// Every ErrorKind maps to an error `code`, triggered for real.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Cluster, ErrorKind } = require('..')
const { REPO, tmpdir, lxcOptions, ghostInventory } = require('./support.js')

function fresh(t) {
  return Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
}

function common(e, code) {
  assert.ok(e instanceof Error, 'an Error')
  assert.equal(e.code, code)
  assert.equal(typeof e.details, 'object')
  assert.equal(typeof e.details.variant, 'string')
  assert.ok(Array.isArray(e.causes))
  assert.ok(Array.isArray(e.errors))
  return true
}

test('ErrorKind lists every code', () => {
  assert.deepEqual(Object.values(ErrorKind).sort(), [
    'AlreadyExists',
    'ConfigRejected',
    'Interrupted',
    'InvalidInput',
    'Local',
    'NotFound',
    'RemoteCommandFailed',
    'Unreachable',
  ])
})

test('a bad subnet is InvalidInput naming the value', async (t) => {
  const c = fresh(t)
  await assert.rejects(c.addServer({ name: 's1', subnet: '10.0.4.0/99', local: true }), (e) => {
    common(e, ErrorKind.InvalidInput)
    assert.match(e.message, /10\.0\.4\.0\/99/)
    assert.equal(e.details.field, 'subnet')
    assert.equal(e.details.value, '10.0.4.0/99')
    return true
  })
  assert.deepEqual(c.servers(), [])
  await assert.rejects(c.addServer({ name: 'a;b', subnet: '10.0.4.0/24', local: true }), /a;b/)
  await assert.rejects(
    c.addServer({ name: 'p', subnet: '10.0.4.0/24', host: 'h', port: 70000 }),
    (e) => common(e, 'InvalidInput') && /70000/.test(e.message),
  )
})

test('an unknown server is NotFound (thrown by sync calls, rejected by async)', async (t) => {
  const c = fresh(t)
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  assert.throws(
    () => c.server('nope'),
    (e) => common(e, 'NotFound') && /nope/.test(e.message) && /s1/.test(e.message),
  )
  assert.throws(() => c.transport('nope'), { code: 'NotFound' })
  await assert.rejects(c.probe('nope'), (e) => common(e, 'NotFound') && e.details.name === 'nope')
  await assert.rejects(c.delServer('nope'), { code: 'NotFound' })
  await assert.rejects(c.delContainer('web9', { dryRun: true }), { code: 'NotFound' })
})

test('a duplicate addServer is AlreadyExists', async (t) => {
  const c = fresh(t)
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  await assert.rejects(c.addServer({ name: 's1', subnet: '10.0.5.0/24', local: true }), (e) => {
    common(e, 'AlreadyExists')
    assert.match(e.message, /"s1"/)
    return true
  })
  assert.deepEqual(
    c.servers().map((s) => s.name),
    ['s1'],
  )
})

test('an ssh server on 127.0.0.1 port 1 is Unreachable, in the status and as an error', async (t) => {
  const c = fresh(t)
  await c.addServer({ name: 'dead', subnet: '10.0.8.0/24', host: '127.0.0.1', port: 1 })
  const [status] = await c.listServers()
  assert.equal(status.name, 'dead')
  assert.equal(status.reachable, false)
  assert.match(status.error, /127\.0\.0\.1:1/)
  await assert.rejects(c.probe('dead'), (e) => {
    common(e, 'Unreachable')
    assert.equal(e.details.server, 'dead')
    // The Rust source chain is kept, as `causes` and as linked `cause`s.
    assert.ok(e.causes.length > 0)
    assert.ok(e.causes.some((m) => /refused/i.test(m)), e.causes.join(' | '))
    assert.ok(e.cause instanceof Error)
    assert.equal(e.cause.message, e.causes[0])
    return true
  })
  const [r] = await c.probeAll()
  assert.equal(r.facts, undefined)
  assert.equal(r.error.code, 'Unreachable')
})

test('a failing command is RemoteCommandFailed', lxcOptions(), async (t) => {
  const c = Cluster.open(ghostInventory(tmpdir(t)))
  // Empty contents: see the Python suite (a non-empty write into lxc-attach's
  // closed stdin is reported by the core's local transport as a Local error).
  await assert.rejects(c.push('ghost', '/etc/motd', ''), (e) => {
    common(e, 'RemoteCommandFailed')
    assert.equal(e.details.variant, 'RemoteCommand')
    assert.equal(e.details.server, 'g1')
    assert.notEqual(e.details.status, 0)
    assert.match(e.details.command, /lxc-attach/)
    return true
  })
  const out = await c.exec('ghost', ['true'])
  assert.notEqual(out.status, 0)
  const bad = Cluster.open(ghostInventory(tmpdir(t), 'nosuch-template'))
  await assert.rejects(bad.buildImage('g1', []), (e) => {
    common(e, 'RemoteCommandFailed')
    assert.match(e.message, /nosuch-template/)
    return true
  })
})

test('a corrupt state file is Local', async (t) => {
  const dir = tmpdir(t)
  const c = Cluster.open(path.join(dir, 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const state = path.join(dir, 'flockport-state.json')
  fs.writeFileSync(state, '{ not json')
  await assert.rejects(c.state(), (e) => {
    common(e, 'Local')
    assert.equal(e.details.variant, 'StateCorrupt')
    assert.ok(e.message.includes(state))
    return true
  })
  assert.throws(
    () => c.stateBlocking(),
    (e) => common(e, 'Local') && e.details.variant === 'StateCorrupt' && e.message.includes(state),
  )
  assert.equal(fs.readFileSync(state, 'utf8'), '{ not json')
  const inv = path.join(dir, 'bad.toml')
  fs.writeFileSync(inv, '[[server]]\nname = 3\n')
  assert.throws(() => Cluster.open(inv), (e) => common(e, 'Local') && e.message.includes(inv))
})

// What the stand-in lxc-attach of `refusingLb` prints for the LB's config check.
const REFUSAL = "[ALERT] (1) : config : parsing [/etc/haproxy/haproxy.cfg.next:12] : unknown keyword 'frobnicate'"

// A directory whose lxc-attach is a test stand-in (see the script).
const STANDIN = path.join(REPO, 'tests', 'standins', 'config-check-refused')

/**
 * A local server `g1` with an HAProxy load balancer `ha1` in the state, and
 * an lxc-attach stand-in first on PATH (for this test) whose config check
 * refuses: the core runs its real plan (local transport, real processes) and
 * its check step fails. Returns the cluster, the state file and the log of
 * the commands the stand-in was given.
 */
function refusingLb(t) {
  const dir = tmpdir(t)
  const log = path.join(dir, 'attach.log')
  const saved = {}
  const env = {
    PATH: `${STANDIN}:${process.env.PATH || ''}`,
    FLOCKPORT_TEST_ATTACH_LOG: log,
    FLOCKPORT_TEST_REFUSAL: REFUSAL,
  }
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  const inv = path.join(dir, 'flockport.toml')
  fs.writeFileSync(
    inv,
    `[[server]]\nname = "g1"\ntransport = "local"\nsubnet = "10.0.99.0/24"\nlxcpath = "${path.join(dir, 'lxc')}"\n`,
  )
  const state = path.join(dir, 'flockport-state.json')
  fs.writeFileSync(
    state,
    JSON.stringify({
      schema: 1,
      containers: { ha1: { server: 'g1', address: '10.0.99.90', image: 'fp-img-haproxy-00000000', role: 'haproxy-lb' } },
      counters: {},
      lbs: {
        ha1: {
          name: 'ha1',
          kind: 'haproxy',
          server: 'g1',
          address: '10.0.99.90',
          mode: 'roundrobin',
          backends: [{ name: 'web1', host: '10.0.99.20', port: 80 }],
          published: [],
        },
      },
    }),
  )
  return { cluster: Cluster.open(inv), state, log }
}

test('a config its checker refuses is ConfigRejected, and nothing is committed', async (t) => {
  const { cluster, state, log } = refusingLb(t)
  const before = fs.readFileSync(state)
  await assert.rejects(cluster.setLb('ha1', 'workers', ['2']), (e) => {
    common(e, ErrorKind.ConfigRejected)
    assert.deepEqual(e.details, { variant: 'ConfigRejected', server: 'g1', service: 'haproxy', detail: REFUSAL })
    assert.equal(e.message, `server g1: haproxy refused the new configuration: ${REFUSAL}`)
    return true
  })
  assert.deepEqual(fs.readFileSync(state), before)
  // Nothing ran after the refused check: the staged config was not
  // installed, haproxy not reloaded.
  const sent = fs.readFileSync(log, 'utf8').trim().split('\n')
  assert.ok(sent.at(-1).endsWith('-- haproxy -c -q -f /etc/haproxy/haproxy.cfg.next'), sent.join('\n'))
  assert.ok(
    !sent.some((l) => l.includes('haproxy.cfg.next /etc/haproxy/haproxy.cfg') || l.includes('systemctl')),
    sent.join('\n'),
  )
  assert.equal((await cluster.state()).lbs.ha1.workers, undefined)
})

test('load-balancer input errors name the value', async (t) => {
  const c = fresh(t)
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  await assert.rejects(c.addLb({ kind: 'apache', server: 's1' }, { dryRun: true }), (e) => {
    common(e, 'InvalidInput')
    assert.match(e.message, /apache/)
    return true
  })
  await assert.rejects(
    c.addLb({ kind: 'haproxy', server: 's1', backends: ['web1:10.0.4.999:80'] }, { dryRun: true }),
    { code: 'InvalidInput', message: /10\.0\.4\.999/ },
  )
  await assert.rejects(c.setLb('ha1', 'colour', ['red']), { code: 'InvalidInput', message: /colour/ })
  await assert.rejects(c.delLb('ha9', { dryRun: true }), { code: 'NotFound', message: /ha9/ })
  assert.deepEqual(await c.lbs(), [])
})
