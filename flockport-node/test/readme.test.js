'use strict'
// README's Node snippet runs as shown (`require('flockport')` resolving to
// this package), against the lab.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const test = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('..')
const { labOptions, requireLab, tmpdir } = require('./support.js')

const REPO = path.resolve(__dirname, '..', '..')

function readmeSnippet(lang) {
  const text = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8')
  const blocks = [...text.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1])
  assert.equal(blocks.length, 1, `README should have exactly one \`\`\`${lang} block`)
  return blocks[0]
}

test('README: the Node snippet', labOptions(), async (t) => {
  const inventory = requireLab()
  const before = (await Cluster.open(inventory).state()).toJSON()
  // A scratch project where `require('flockport')` is this package.
  const dir = tmpdir(t)
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(path.resolve(__dirname, '..'), path.join(dir, 'node_modules', 'flockport'), 'dir')
  fs.writeFileSync(path.join(dir, 'snippet.js'), readmeSnippet('js'))
  const { status, stdout, stderr } = spawnSync(process.execPath, [path.join(dir, 'snippet.js')], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
  })
  assert.equal(status, 0, stdout + stderr)
  for (const s of ['s1', 's2', 's3']) assert.match(stdout, new RegExp(`^${s} reachable \\d+$`, 'm'))
  assert.match(stdout, /refused: NotFound load balancer "nope" not found/)
  assert.match(stdout, /haproxy/)
  // A dry run and a refused call: nothing changed.
  assert.deepEqual((await Cluster.open(inventory).state()).toJSON(), before)
})
