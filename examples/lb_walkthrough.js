#!/usr/bin/env node
'use strict'
// The documentation's load-balancer walk-through, from Node, against the lab.
//
// An HAProxy load balancer on s1 in front of c1, c3 and c5 (one app container
// on each lab server), requests through it in round-robin and in source mode,
// a backend removed, the balancer published on s1's host address, and
// everything removed again. Needs the lab (`tests/lab/lab up`) and the module
// (`npm install ./flockport-node`):
//
//   node examples/lb_walkthrough.js [INVENTORY] [LB_NAME]
//
// INVENTORY defaults to tests/lab/out/flockport.toml, LB_NAME to ha-js-<pid>.
// Exits non-zero, after removing the load balancer, when a step does not do
// what the documentation says. lb_walkthrough.rs and lb_walkthrough.py are
// the same walk-through from Rust and Python.

const http = require('node:http')
const { Cluster } = require(process.env.FLOCKPORT_NODE_MODULE || 'flockport')

const BACKENDS = ['web1:10.0.4.20:80', 'web2:10.0.5.20:80', 'web3:10.0.7.20:80']

function get(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`${host}:${port} answered ${res.statusCode}`)),
      )
    })
    req.on('timeout', () => req.destroy(new Error(`${host}:${port}: no answer in 5 s`)))
    req.on('error', reject)
  })
}

// n HTTP requests to host:port, counted by the answering container (the body).
async function tally(host, port, n) {
  const counts = {}
  for (let i = 0; i < n; i++) {
    const who = await get(host, port)
    counts[who] = (counts[who] || 0) + 1
  }
  return counts
}

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`)
}

async function walkthrough(cluster, name) {
  // flockport addlb haproxy s1 -n NAME
  const lb = (await cluster.addLb({ kind: 'haproxy', server: 's1', name })).record
  console.log(`addlb haproxy s1 -n ${name}: ${lb.kind} at ${lb.address}`)

  // flockport addbackends NAME web1:10.0.4.20:80 web2:10.0.5.20:80 web3:10.0.7.20:80
  await cluster.addBackends(name, BACKENDS)
  for (const info of await cluster.lbs()) {
    if (info.record.name !== name) continue
    const health = info.health.map((h) => `${h.backend}=${h.health}`).join(' ')
    console.log(`listlbs: ${name} mode=${info.record.mode} backends: ${health}`)
  }

  let counts = await tally(lb.address, 80, 30)
  console.log('30 requests (roundrobin):', JSON.stringify(counts))
  check(['c1', 'c3', 'c5'].every((c) => (counts[c] || 0) >= 5), 'roundrobin spreads requests')

  // flockport setlb NAME mode source: one client, one backend.
  await cluster.setLb(name, 'mode', ['source'])
  counts = await tally(lb.address, 80, 10)
  console.log('10 requests (source):', JSON.stringify(counts))
  check(Object.keys(counts).length === 1, 'source mode keeps a client on one backend')

  // flockport delbackends NAME web2: c3 gets nothing more.
  await cluster.setLb(name, 'mode', ['roundrobin'])
  await cluster.delBackends(name, ['web2'])
  counts = await tally(lb.address, 80, 12)
  console.log('12 requests after delbackends web2:', JSON.stringify(counts))
  check(!('c3' in counts) && Object.keys(counts).length === 2, 'web2 (c3) is out of rotation')

  // flockport pub s1:NAME 80: s1's host address answers for the balancer.
  const rec = (await cluster.publish(`s1:${name}`, 80)).record
  const host = cluster.server('s1').host
  counts = await tally(host, 80, 4)
  console.log(`pub s1:${name} 80 -> forwards ${JSON.stringify(rec.forwards)}; 4 requests to ${host}:80:`, JSON.stringify(counts))
  check(Object.keys(counts).length === 2, 'the published port reaches the backends')
}

async function main() {
  const inventory = process.argv[2] || 'tests/lab/out/flockport.toml'
  const name = process.argv[3] || `ha-js-${process.pid}`
  const cluster = Cluster.open(inventory)
  try {
    await walkthrough(cluster, name)
  } finally {
    // Whatever happened, the load balancer goes (when it was created).
    if ((await cluster.state()).lbs[name]) {
      await cluster.delLb(name)
      console.log(`dellb ${name}: removed`)
    }
  }
  console.log('walk-through passed')
}

main().catch((e) => {
  console.error(`lb_walkthrough.js: ${e.message}${e.code ? ` (${e.code})` : ''}`)
  process.exit(1)
})
