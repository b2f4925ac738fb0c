'use strict'
// Webservers and floating IPs from Node: input errors, and (lab) a webserver
// publishing an app end to end, a floating IP's plan, the listings.

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('..')
const { labCopy, labOptions, requireLab, tmpdir } = require('./support.js')

async function local(t) {
  const dir = tmpdir(t)
  const c = Cluster.open(path.join(dir, 'flockport.toml'))
  await c.addServer({ name: 's1', subnet: '10.0.4.0/24', local: true })
  return { c, dir }
}

test('bad input names the value and changes nothing', async (t) => {
  const { c, dir } = await local(t)
  const hosts = path.join(dir, 'hosts')
  await assert.rejects(c.pubApp('nope', 'x.org', '10.0.4.20:80', null, null, null, { dryRun: true }), (e) => e.code === 'NotFound' && /nope/.test(e.message))
  await assert.rejects(c.pubApp('nope', 'a;b.org', '10.0.4.20:80'), (e) => e.code === 'InvalidInput' && /a;b\.org/.test(e.message))
  await assert.rejects(c.addHosts('x.org', '10.0.4.300', hosts), (e) => e.code === 'InvalidInput' && /10\.0\.4\.300/.test(e.message))
  await assert.rejects(c.addVip('s1', 's1', '192.168.122.100', null, null, null, { dryRun: true }), (e) => e.code === 'InvalidInput')
  assert.equal(fs.existsSync(hosts), false)
  assert.deepEqual(await c.webservers(), [])
  assert.deepEqual(await c.vips(), [])
})

test('addHosts is idempotent and delHosts removes it', async (t) => {
  const { c, dir } = await local(t)
  const hosts = path.join(dir, 'hosts')
  fs.writeFileSync(hosts, '127.0.0.1 localhost\n')
  const first = await c.addHosts('myminio.org', '10.0.4.100', hosts)
  assert.deepEqual([first.changed, first.executed, first.ip], [true, true, '10.0.4.100'])
  assert.equal((await c.addHosts('myminio.org', '10.0.4.100', hosts)).changed, false)
  await c.delHosts('myminio.org', hosts)
  assert.equal(fs.readFileSync(hosts, 'utf8'), '127.0.0.1 localhost\n')
})

function get(address, host) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path: '/', headers: { Host: host }, timeout: 5000 }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve(body.trim()))
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
  })
}

test('lab: a webserver publishes an app', labOptions(), async (t) => {
  const c = labCopy(t)
  const name = `jsws${process.pid % 10000}`
  const rec = (await c.addWs('s3', name)).record
  try {
    assert.deepEqual([rec.name, rec.server, rec.apps], [name, 's3', {}])
    const after = (await c.pubApp(name, 'mymattermost.app', '10.0.7.20:9000')).record
    assert.deepEqual(after.apps['mymattermost.app'].upstream, { host: '10.0.7.20', port: 9000 })
    assert.equal(await get(rec.address, 'mymattermost.app'), 'c5')
    const [info] = (await c.webservers()).filter((w) => w.record.name === name)
    assert.deepEqual(info.health, [{ url: 'mymattermost.app', health: 'UP' }])
    await c.delApp(name, 'mymattermost.app')
    assert.deepEqual((await c.state()).ws[name].apps, {})
  } finally {
    await c.delWs(name)
  }
  assert.equal((await c.state()).ws[name], undefined)
})

test('lab: a floating IP plan and the listing', labOptions(), async () => {
  const c = Cluster.open(requireLab())
  const applied = await c.addVip('s1', 's2', '192.168.122.118', 'jsvip', 0.5, [80], { dryRun: true })
  const v = applied.record
  assert.deepEqual([v.name, v.ip, v.master.server, v.backup.server, v.track], ['jsvip', '192.168.122.118', 's1', 's2', [80]])
  assert.equal(applied.executed, false)
  assert.equal('authPass' in v, false)
  assert.ok((await c.vips()).every((x) => x.vip.name !== 'jsvip'))
})
