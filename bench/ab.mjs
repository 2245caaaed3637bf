#!/usr/bin/env node
// npm run bench:ab -- --base DIR [--only LABEL] [--rounds N]: the server CPU time one request costs, this build against another
// build (a clone of an older commit, `npm ci && npm run build:ts` there), on the same fixture as
// npm run bench. Rounds alternate between the two so that a busy neighbour weighs on both alike;
// CPU time per request (from /proc) shifts far less with the box's load than requests per second.
// A benchmark, never a test: it prints numbers and exits 0. Loopback only; every run is bounded.
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { startServer } from './process.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    fixture: { type: 'string', default: path.join(os.tmpdir(), 'serve-dir-bench-own') },
    only: { type: 'string' }
  }
})
if (!args.base) throw new Error('usage: npm run bench:ab -- --base /path/to/other/build [--rounds 4]')
if (!['small.css', '1m.bin', '100m.bin', 'dir1k', 'dir100k'].every((f) => existsSync(path.join(args.fixture, f)))) throw new Error(`no fixture in ${args.fixture}: npm run bench builds it once`)
const ticks = 100 // USER_HZ on Linux
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 1000 / ticks
}
const WORKLOADS = [
  ['GET /', '/', {}, 20000, 32],
  ['GET /small.css', '/small.css', {}, 20000, 32],
  ['conditional GET', '/small.css', 'etag', 20000, 32],
  ['Range bytes=0-1023', '/1m.bin', { range: 'bytes=0-1023' }, 20000, 32],
  ['1 MiB file', '/1m.bin', {}, 2000, 8],
  ['listing 1,000', '/dir1k/', {}, 10000, 32],
  ['listing 100,000', '/dir100k/', {}, 8, 2],
  ['100 MiB file', '/100m.bin', {}, 4, 2]
]
const builds = { this: path.join(here, '..'), base: path.resolve(args.base) }
const servers = {}
for (const [name, project] of Object.entries(builds)) {
  servers[name] = await startServer(['--bind', '127.0.0.1', '-d', args.fixture, '-l', 'warn'], [], project)
}
const hit = (port, url, headers, amount, connections) =>
  autocannon({ url: `http://127.0.0.1:${port}${url}`, headers, amount, connections, timeout: 60 })
try {
  console.log(`\nserver CPU per request, µs (mean of ${args.rounds} alternating rounds); this = ${builds.this}, base = ${builds.base}\n`)
  console.log('| workload | this | base | this ÷ base |\n|---|---|---|---|')
  const chosen = WORKLOADS.filter(([label]) => args.only === undefined || label.includes(args.only))
  for (const [label, url, wanted, amount, connections] of chosen) {
    const spent = { this: 0, base: 0 }
    for (const [name, { port }] of Object.entries(servers)) {
      const headers = wanted === 'etag'
        ? { 'if-none-match': (await fetch(`http://127.0.0.1:${port}${url}`)).headers.get('etag') }
        : wanted
      servers[name].headers = headers
      await hit(port, url, headers, Math.max(connections, Math.ceil(amount / 4)), connections) // warm: JIT, caches (autocannon wants amount >= connections)
    }
    for (let round = 0; round < Number(args.rounds); round++) {
      // each build goes first in every other round, so that neither always meets a warmer box
      const order = round % 2 === 0 ? Object.entries(servers) : Object.entries(servers).reverse()
      for (const [name, { child, port, headers }] of order) {
        const before = cpuMs(child.pid)
        const r = await hit(port, url, headers, amount, connections)
        if (r.errors || (wanted !== 'etag' && r.non2xx)) throw new Error(`${name} ${label}: ${r.errors} errors, ${r.non2xx} non-2xx`)
        spent[name] += cpuMs(child.pid) - before
      }
    }
    const per = (name) => spent[name] * 1000 / amount / Number(args.rounds)
    console.log(`| ${label} | ${per('this').toFixed(1)} | ${per('base').toFixed(1)} | ${(per('this') / per('base')).toFixed(2)}× |`)
  }
} finally {
  for (const { child } of Object.values(servers)) child.kill('SIGTERM')
}
