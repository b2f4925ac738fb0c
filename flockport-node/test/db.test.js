'use strict'
// Databases from Node: input errors that name the value and change nothing,
// and (lab) a MariaDB instance made, listed, its password read on request,
// a second database added and dropped, the instance removed.

const path = require('node:path')
const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('..')
const { labCopy, labOptions, tmpdir } = require('./support.js')

test('bad input names the value and changes nothing', async (t) => {
  const c = Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const bad = [
    [{ engine: 'mysql', server: 's1', user: "wo'rd", database: 'd' }, /wo'rd/],
    [{ engine: 'postgresql', server: 's1', user: 'u', database: 'd', allowed: ['banana'] }, /banana/],
    [{ engine: 'mysql', server: 's1', user: 'u', database: 'd', password: 'a\u0000b' }, /U\+0000/],
    [{ engine: 'mysql', server: 's1', user: 'root', database: 'd' }, /root/],
  ]
  for (const [spec, re] of bad) {
    await assert.rejects(c.addDb(spec, { dryRun: true }), (e) => e.code === 'InvalidInput' && re.test(e.message) && !/a\u0000b/.test(e.message))
  }
  await assert.rejects(c.delDb('nope'), (e) => e.code === 'NotFound' && /nope/.test(e.message))
  assert.deepEqual(await c.dbs(), [])
  assert.deepEqual((await c.state()).dbs, {})
  await assert.rejects(c.addEp('s1', '10.0.5.10', null, { dryRun: true }), (e) => e.code === 'InvalidInput' && /10\.0\.5\.10/.test(e.message))
  await assert.rejects(c.delEp('nope', true), (e) => e.code === 'NotFound' && /nope/.test(e.message))
  assert.deepEqual((await c.endpoints()).endpoints, [])
})

test('service catalog: bad input names the value and changes nothing', async (t) => {
  const c = Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const invalid = (re) => (e) => e.code === 'InvalidInput' && re.test(e.message)
  await assert.rejects(c.pubService('minio', '10.0.7.20:9000'), invalid(/addep/))
  await assert.rejects(c.pubService("mi'nio", '10.0.7.20:9000', { dryRun: true }), invalid(/mi'nio/))
  await assert.rejects(c.pubService('minio', '10.0.7.20:99999'), invalid(/10\.0\.7\.20:99999/))
  await assert.rejects(c.pubCheck('c', 'icmp', '10.0.7.20'), invalid(/icmp/))
  await assert.rejects(c.pubCheck('c', 'http', 'gopher://x/', null, 2), invalid(/gopher:\/\/x\//))
  await assert.rejects(c.unpubService('nope', '10.0.7.20:9000'), (e) => e.code === 'NotFound' && /nope/.test(e.message))
  await assert.rejects(c.unpubCheck('nope'), (e) => e.code === 'NotFound' && /nope/.test(e.message))
  await assert.rejects(c.services(), invalid(/addep/))
  assert.deepEqual((await c.state()).adhoc, {})
})

test("containers' services: bad input names the value and changes nothing", async (t) => {
  const c = Cluster.open(path.join(tmpdir(t), 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  const invalid = (re) => (e) => e.code === 'InvalidInput' && re.test(e.message)
  const notFound = (re) => (e) => e.code === 'NotFound' && re.test(e.message)
  await assert.rejects(c.addService('c1', 'word.press', 80), invalid(/word\.press/))
  await assert.rejects(c.addService('c1', 'wordpress', 70000, { dryRun: true }), invalid(/70000/))
  await assert.rejects(c.addService('nosuchcontainer', 'wordpress', 80), notFound(/nosuchcontainer/))
  await assert.rejects(c.addCheck('c1', 'mycheck', 'udp', '80'), invalid(/udp/))
  await assert.rejects(c.addCheck('c1', 'mycheck', 'tcp', '99999'), invalid(/99999/))
  await assert.rejects(c.addCheck('c1', 'mycheck', 'http', "my'site"), invalid(/my'site/))
  await assert.rejects(c.listService('c1'), notFound(/c1/))
  assert.deepEqual((await c.state()).containerServices, {})
})

test('lab: a MariaDB instance', labOptions(), async (t) => {
  const c = labCopy(t)
  const name = `jsdb${process.pid % 10000}`
  const added = (await c.addDb({ engine: 'mysql', server: 's3', user: 'app', database: 'app', name })).record
  try {
    assert.deepEqual([added.instance.name, added.instance.engine, added.instance.port, added.generatedPassword], [name, 'mysql', 3306, true])
    const pw = await c.dbPassword(name, 'app')
    assert.ok(pw.length >= 24)
    assert.ok(!JSON.stringify(added).includes(pw), 'the password is not in the record')
    await c.addDb({ engine: 'mysql', server: 's3', user: 'u2', database: 'd2', name, allowed: ['10.0.5.0/24'], password: 'node-given-password-0123456789' })
    assert.equal(await c.dbPassword(name, 'd2'), 'node-given-password-0123456789')
    const [info] = (await c.dbs()).filter((d) => d.instance.name === name)
    assert.equal(info.answers, true)
    assert.match(info.version, /MariaDB/)
    assert.deepEqual(info.instance.databases.d2.allowed, ['10.0.5.0/24'])
    await c.delDb(name, 'd2')
    assert.deepEqual(Object.keys((await c.state()).dbs[name].databases), ['app'])
  } finally {
    await c.delDb(name)
  }
  assert.equal((await c.state()).dbs[name], undefined)
})
