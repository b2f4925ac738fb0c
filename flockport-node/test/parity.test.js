'use strict'
// Parity by signature, derived from the core's declaration.
//
// `_api()` is flockport-core's declaration (`api::codegen::manifest`): every
// generated operation with its parameters, every record with its fields, and
// the members written by hand. Each must exist in Node under its camelCase
// name, with the same parameters, at run time (a method of Cluster) and in
// index.d.ts; every public method of the core's `impl Cluster` blocks must be
// declared.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { REPO } = require('./support.js')
const flockport = require('..')

const CORE_SRC = path.join(REPO, 'flockport-core', 'src')
const API = JSON.parse(flockport._api())
const DTS = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')

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

/** `pub fn` / `pub async fn` names of the core's `impl Cluster` blocks. */
function coreMethods() {
  const names = new Set()
  for (const file of rustFiles(CORE_SRC)) {
    for (const body of implClusterBlocks(fs.readFileSync(file, 'utf8'))) {
      for (const m of body.matchAll(/^\s*pub\s+(async\s+)?fn\s+(\w+)/gm)) names.add(m[2])
    }
  }
  return names
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

/** The members of a declared interface or class in index.d.ts: name -> the rest of its line. */
function dtsBlock(kind, name) {
  const start = DTS.search(new RegExp(`^export (?:declare )?${kind} ${name}\\b[^\\n]*\\{$`, 'm'))
  assert.ok(start >= 0, `index.d.ts lacks ${kind} ${name}`)
  const body = DTS.slice(start, DTS.indexOf('\n}', start))
  const members = new Map()
  for (const m of body.matchAll(/^ {2}(?:static |get )?(\w+)(\??)(.*)$/gm)) members.set(m[1], { optional: m[2] === '?', rest: m[3] })
  return members
}

/** `name?` / `name` of each parameter of a d.ts method line. */
function dtsParams(rest) {
  const inner = rest.slice(rest.indexOf('(') + 1, rest.lastIndexOf('):'))
  return [...inner.matchAll(/(\w+)(\??): (?:\([^)]*\) => \w+|[^,]+)/g)].map((m) => `${m[1]}${m[2]}`)
}

test('the declaration is read', () => {
  const names = API.operations.map((o) => o.name)
  for (const n of ['list_servers', 'add_lb', 'add_server']) assert.ok(names.includes(n), names.join(' '))
  assert.equal(camel('probe_all'), 'probeAll')
})

test('every core Cluster method is declared', () => {
  const declared = new Set([...API.operations.map((o) => o.name), ...API.facade])
  const core = coreMethods()
  assert.deepEqual([...core].filter((n) => !declared.has(n)), [], 'core methods neither declared nor hand-written')
  assert.deepEqual([...declared].filter((n) => !core.has(n)), [], "declared operations the core's Cluster lacks")
})

test('operations have the declared signature (camelCase) and return Promises', () => {
  const cls = dtsBlock('class', 'Cluster')
  for (const op of API.operations) {
    const js = op.camel
    assert.equal(typeof flockport.Cluster.prototype[js], 'function', `Cluster.${js} missing at run time`)
    const decl = cls.get(js)
    assert.ok(decl, `index.d.ts lacks Cluster.${js}`)
    assert.match(decl.rest, /\): Promise<.*>$/, `Cluster.${js} returns a Promise`)
    const want = op.spec ? ['spec'] : op.params.map((p) => `${p.camel}${p.optional ? '?' : ''}`)
    if (op.dry_run) want.push('options?')
    if (op.progress) want.push('progress?')
    assert.deepEqual(dtsParams(decl.rest), want, `Cluster.${js} in index.d.ts`)
    if (op.spec) {
      const spec = dtsBlock('interface', op.spec)
      for (const p of op.params) {
        assert.ok(spec.has(p.camel), `${op.spec}.${p.camel} missing`)
        assert.equal(spec.get(p.camel).optional, p.optional, `${op.spec}.${p.camel} optional`)
      }
      assert.equal(spec.size, op.params.length, `${op.spec} has exactly the declared fields`)
    }
  }
})

test('records have the declared fields (camelCase)', () => {
  for (const rec of API.records) {
    const members = dtsBlock(rec.name === 'State' ? 'class' : 'interface', rec.name)
    for (const f of rec.fields) assert.ok(members.has(f.camel), `index.d.ts lacks ${rec.name}.${f.camel}`)
  }
  for (const f of API.records.find((r) => r.name === 'State').fields) {
    const getter = Object.getOwnPropertyDescriptor(flockport.State.prototype, f.camel)
    assert.equal(typeof getter?.get, 'function', `State.${f.camel} getter missing`)
  }
})

test('hand-written members exist', () => {
  const cls = dtsBlock('class', 'Cluster')
  for (const name of API.facade) {
    const js = camel(name)
    const fn = flockport.Cluster[js] || flockport.Cluster.prototype[js]
    assert.equal(typeof fn, 'function', `Cluster.${js} missing at run time`)
    assert.ok(cls.has(js), `index.d.ts lacks Cluster.${js}`)
  }
})
