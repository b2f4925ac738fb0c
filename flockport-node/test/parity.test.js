'use strict'
// Every public operation of the core's `Cluster` exists in Node (camelCase).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { REPO } = require('./support.js')
const flockport = require('..')

const CORE_SRC = path.join(REPO, 'flockport-core', 'src')

function implClusterBlocks(text) {
  const blocks = []
  const re = /^impl Cluster \{/gm
  let m
  while ((m = re.exec(text))) {
    let depth = 0
    for (let i = m.index + m[0].length - 1; i < text.length; i++) {
      if (text[i] === '{') depth++
      else if (text[i] === '}' && --depth === 0) {
        blocks.push(text.slice(m.index + m[0].length, i))
        break
      }
    }
  }
  return blocks
}

function rustFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return rustFiles(p)
    return e.name.endsWith('.rs') && !e.name.endsWith('tests.rs') ? [p] : []
  })
}

/** `pub fn` / `pub async fn` of every `impl Cluster` block (cluster.rs, lb/, ...). */
function coreOperations() {
  const ops = new Map()
  for (const file of rustFiles(CORE_SRC)) {
    for (const body of implClusterBlocks(fs.readFileSync(file, 'utf8'))) {
      for (const m of body.matchAll(/^\s*pub\s+(async\s+)?fn\s+(\w+)/gm)) {
        ops.set(m[2], { async: Boolean(m[1]), file: path.relative(REPO, file) })
      }
    }
  }
  return ops
}

/** Core operations named in flockport-core/bindings-pending.txt: not bound yet. */
function pending() {
  const text = fs.readFileSync(path.join(REPO, 'flockport-core', 'bindings-pending.txt'), 'utf8')
  return new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

test('the core has the operations this test expects to parse', () => {
  const ops = coreOperations()
  assert.ok(ops.size >= 15, [...ops.keys()].join(' '))
  assert.equal(ops.get('list_servers').async, true)
  assert.equal(ops.get('add_server').async, false)
  assert.equal(camel('probe_all'), 'probeAll')
})

test('pending operations are core operations not yet bound', () => {
  const ops = coreOperations()
  for (const name of pending()) {
    assert.ok(ops.has(name), `bindings-pending.txt names ${name}, which the core does not have`)
    const js = camel(name)
    const fn = flockport.Cluster[js] || flockport.Cluster.prototype[js]
    assert.equal(typeof fn, 'undefined', `${js} is bound now: remove ${name} from bindings-pending.txt`)
  }
})

test('every core operation is bound (camelCase)', () => {
  const missing = []
  for (const [name, { file }] of coreOperations()) {
    if (pending().has(name)) continue
    const js = camel(name)
    const fn = flockport.Cluster[js] || flockport.Cluster.prototype[js]
    if (typeof fn !== 'function') missing.push(`${js} (${file})`)
  }
  assert.deepEqual(missing, [], `flockport.Cluster lacks core operations: ${missing.join(', ')}`)
})

test('index.d.ts declares every operation; async ones return a Promise', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const cls = dts.slice(dts.indexOf('export declare class Cluster'))
  for (const [name, { async }] of coreOperations()) {
    if (pending().has(name)) continue
    const js = camel(name)
    const m = cls.match(new RegExp(`^\\s*(?:static )?${js}\\(.*\\): (.*)$`, 'm'))
    assert.ok(m, `index.d.ts lacks Cluster.${js}`)
    if (async) assert.match(m[1], /^Promise</, `Cluster.${js} should return a Promise`)
  }
})
