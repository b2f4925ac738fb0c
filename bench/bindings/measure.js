#!/usr/bin/env node
// bench/bindings/measure.js: the Node arms of bench/bindings.
//
//   node bench/bindings/measure.js DIR [--iters N] [--cheap-iters M] [--op-iters K] [--list-iters L] [--batches B] [--warmup-batches W]
//
// Opens the cluster written by `flockport-bench-bindings setup DIR` with the
// flockport addon (flockport-node, never built here: FLOCKPORT_NODE_NO_AUTOBUILD)
// and times each call exactly as a Node program writes it:
//
//   server      cluster.server('s1')     -> ServerConfig (plain object)
//   list_servers  await cluster.listServers() -> [ServerStatus] (one probe of s1)
//   lbs           await cluster.lbs()         -> [LbInfo] plain objects (listlbs: 50 LBs,
//                 a health check in each one's container)
//   state         await cluster.state()       -> State (a class: its getters convert
//                 on access), awaited one by one; the file is read on libuv's pool
//   state_blocking cluster.stateBlocking()    -> State, read on the JS thread
//   state_lbs     cluster.stateBlocking().lbs -> 50 LbRecord plain objects, their
//                 backends: everything a caller reads, converted (V8's JSON.parse)
//   loop_floor    an empty loop body: what the JS loop itself costs per call
//   json_parse    JSON.parse of the 50 LbRecords' JSON (JSON.stringify of state.lbs,
//                 compact): a reference for what V8 takes to build the same objects
//
// Each arm first runs W untimed batches; then, B times over, each arm runs one
// batch of N calls (state arms, json_parse), M calls (server, loop_floor) K
// calls (list_servers) or L calls (lbs), timed
// with process.hrtime.bigint(), the arms taking turns (the first rotating each
// pass) as the Rust measurement does. A sample is a batch's time divided by
// its calls.
//
// Run with --expose-gc (bench/bindings/run does): every timed batch starts
// after a full, untimed collection, so that no arm pays for another one's
// garbage (a batch still pays for collecting its own as it allocates).
//
// MEASURE_ONLY=arm,arm (environment) measures only those arms, for profiling.
//
// Prints JSON on stdout: every sample, the median and p90 per call, and the
// process's CPU time and context switches (all threads, /proc/self/task) per
// call over the timed batches, less what reading them costs.
'use strict'

const path = require('node:path')
const fs = require('node:fs')

process.env.FLOCKPORT_NODE_NO_AUTOBUILD = '1'
const addonDir = path.join(__dirname, '..', '..', 'flockport-node')
const flockport = require(addonDir)

const LBS = 50

function parseArgs(argv) {
  const opts = { dir: null, iters: 100, cheapIters: 10000, opIters: 4, listIters: 2, batches: 25, warmupBatches: 3 }
  const flags = { '--iters': 'iters', '--cheap-iters': 'cheapIters', '--op-iters': 'opIters', '--list-iters': 'listIters', '--batches': 'batches', '--warmup-batches': 'warmupBatches' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a in flags) {
      const n = Number(argv[++i])
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a whole number greater than 0`)
      opts[flags[a]] = n
    } else if (a === '-h' || a === '--help') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1)
      const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')))
      process.stdout.write(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n')
      process.exit(0)
    } else if (opts.dir === null && !a.startsWith('-')) {
      opts.dir = a
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(a)} (see --help)`)
    }
  }
  if (opts.dir === null) throw new Error('usage: node measure.js DIR [--iters N] [--cheap-iters M] [--batches B] [--warmup-batches W]')
  return opts
}

// CPU ns and context switches of all threads, from /proc/self/task (as the
// Rust and Python measurements count them); a 1 ms sleep first brings this
// thread's schedstat up to date.
const sleeper = new Int32Array(new SharedArrayBuffer(4))
function processCounters() {
  Atomics.wait(sleeper, 0, 0, 1)
  let cpu = 0
  let switches = 0
  let tasks
  try {
    tasks = fs.readdirSync('/proc/self/task')
  } catch {
    return null
  }
  for (const t of tasks) {
    try {
      cpu += Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0])
      for (const line of fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8').split('\n')) {
        if (line.startsWith('voluntary_ctxt_switches:') || line.startsWith('nonvoluntary_ctxt_switches:')) {
          switches += Number(line.split(':')[1])
        }
      }
    } catch {
      // the thread exited meanwhile
    }
  }
  return [cpu, switches]
}

function medianP90(xs) {
  const v = [...xs].sort((a, b) => a - b)
  const n = v.length
  const median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
  return [median, v[Math.max(1, Math.ceil(0.9 * n)) - 1]]
}

const r1 = (x) => Math.round(x * 10) / 10

// What two readings in a row count (median of a few tries): subtracted from every batch.
function countersOverhead() {
  const cpu = []
  const sw = []
  for (let i = 0; i < 7; i++) {
    const a = processCounters()
    const b = processCounters()
    if (a && b) {
      cpu.push(b[0] - a[0])
      sw.push(b[1] - a[1])
    }
  }
  if (cpu.length === 0) return [0, 0]
  return [medianP90(cpu)[0], medianP90(sw)[0]]
}

class Arm {
  constructor(name, iters, batch) {
    Object.assign(this, { name, iters, batch, samples: [], cpu: 0, switches: 0 })
  }

  async timed(overhead) {
    // A full collection first (untimed; node runs with --expose-gc): no arm
    // pays for the garbage another one left.
    if (typeof global.gc === 'function') global.gc()
    const before = processCounters()
    const t0 = process.hrtime.bigint()
    await this.batch(this.iters)
    const dt = Number(process.hrtime.bigint() - t0)
    const after = processCounters()
    this.samples.push(dt / this.iters)
    if (before === null || after === null || this.cpu === null) {
      this.cpu = null
    } else {
      this.cpu += Math.max(0, after[0] - before[0] - overhead[0])
      this.switches += Math.max(0, after[1] - before[1] - overhead[1])
    }
  }

  summary() {
    const [median, p90] = medianP90(this.samples)
    const calls = this.samples.length * this.iters
    return {
      iters_per_batch: this.iters,
      batches: this.samples.length,
      ns_per_call: this.samples.map(r1),
      median_ns: r1(median),
      p90_ns: r1(p90),
      cpu_ns_per_call: this.cpu === null ? null : r1(this.cpu / calls),
      ctx_switches_per_1000_calls: this.cpu === null ? null : r1((this.switches / calls) * 1000),
    }
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const inv = path.join(o.dir, 'flockport.toml')
  if (!fs.existsSync(inv)) throw new Error(`${inv} is missing: run \`flockport-bench-bindings setup ${o.dir}\` first`)
  const cluster = flockport.Cluster.open(inv)
  const st = await cluster.state()
  if (Object.keys(st.lbs).length !== LBS || cluster.server('s1').name !== 's1') {
    throw new Error(`${o.dir} does not hold the benchmark's cluster (${LBS} LBs on s1)`)
  }

  // The batches are plain functions so that V8 sees the same call site each time.
  let sink = null
  const loopFloor = (n) => {
    for (let i = 0; i < n; i++);
  }
  const server = (n) => {
    for (let i = 0; i < n; i++) sink = cluster.server('s1')
  }
  const listServers = async (n) => {
    for (let i = 0; i < n; i++) {
      sink = await cluster.listServers()
      if (sink.length !== 1) throw new Error('listServers() did not give the one server')
    }
  }
  const lbs = async (n) => {
    for (let i = 0; i < n; i++) {
      sink = await cluster.lbs()
      if (sink.length !== LBS) throw new Error('lbs() did not give the 50 load balancers')
    }
  }
  const state = async (n) => {
    for (let i = 0; i < n; i++) sink = await cluster.state()
  }
  const stateBlocking = (n) => {
    for (let i = 0; i < n; i++) sink = cluster.stateBlocking()
  }
  const stateLbs = (n) => {
    for (let i = 0; i < n; i++) sink = cluster.stateBlocking().lbs
  }
  const text = JSON.stringify(st.lbs)
  const jsonParse = (n) => {
    for (let i = 0; i < n; i++) sink = JSON.parse(text)
  }

  const b = o.batches
  const w = o.warmupBatches
  const only = (process.env.MEASURE_ONLY || '').split(',').filter(Boolean)
  const arms = [
    new Arm('loop_floor', o.cheapIters, loopFloor),
    new Arm('server', o.cheapIters, server),
    new Arm('list_servers', o.opIters, listServers),
    new Arm('lbs', o.listIters, lbs),
    new Arm('state', o.iters, state),
    new Arm('state_blocking', o.iters, stateBlocking),
    new Arm('state_lbs', o.iters, stateLbs),
    new Arm('json_parse', o.iters, jsonParse),
  ].filter((a) => only.length === 0 || only.includes(a.name))
  for (const a of arms) for (let i = 0; i < w; i++) await a.batch(a.iters)
  const overhead = countersOverhead()
  for (let p = 0; p < b; p++) {
    for (let k = 0; k < arms.length; k++) await arms[(p + k) % arms.length].timed(overhead)
  }
  const calls = Object.fromEntries(arms.map((a) => [a.name, a.summary()]))
  if (calls.json_parse) calls.json_parse.bytes = Buffer.byteLength(text)
  if (sink === null) throw new Error('no call returned')
  const pkg = JSON.parse(fs.readFileSync(path.join(addonDir, 'package.json'), 'utf8'))
  process.stdout.write(
    JSON.stringify(
      {
        lang: 'node',
        node: process.version,
        flockport: { version: pkg.version, addon: addonDir },
        options: { iters: o.iters, cheap_iters: o.cheapIters, op_iters: o.opIters, list_iters: o.listIters, batches: b, warmup_batches: w },
        counters_overhead: { cpu_ns: overhead[0], ctx_switches: overhead[1] },
        calls,
      },
      null,
      2,
    ) + '\n',
  )
}

main().catch((e) => {
  process.stderr.write(`measure.js: ${e && e.stack ? e.stack : e}\n`)
  process.exit(1)
})
