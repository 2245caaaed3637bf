#!/usr/bin/env node
// npm run soak: hundreds of thousands of mixed requests against serve-dir, with its memory and open
// file descriptors printed before and after (they must not grow), then a SIGTERM under load
// (no request that had started may be lost). Not part of npm test. Loopback only; bounded.
//
//   npm run soak                       # 300,000 requests
//   npm run soak -- --requests 50000   # fewer
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { fds, rss, startServer } from './process.mjs'

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '300000' }, connections: { type: 'string', default: '32' } } })
const REQUESTS = Number(args.requests)
const HOST = '127.0.0.1'
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ fixture
const root = path.join(os.tmpdir(), 'serve-dir-soak')
mkdirSync(path.join(root, 'dir'), { recursive: true })
writeFileSync(path.join(root, 'index.html'), '<!DOCTYPE html><title>soak</title><p>soak</p>\n')
writeFileSync(path.join(root, 'app.js'), 'console.log("soak");\n'.repeat(200))
writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7))
for (let i = 0; i < 300; i++) writeFileSync(path.join(root, 'dir', `f${i}.txt`), `file ${i}\n`)

// ------------------------------------------------------------------ server
const state = (pid) => `RSS ${rss(pid).toFixed(1)} MiB, ${fds(pid)} open fds`

// ------------------------------------------------------------------ soak
const { child, port } = await startServer(['-d', root, '-l', 'warn', '--grace', '10'])
const requests = [
  { path: '/' },
  { path: '/app.js' },
  { path: '/app.js', headers: { 'accept-encoding': 'br, gzip' } },
  { path: '/dir/' },
  { path: '/dir/?format=json' },
  { path: '/dir/f7.txt', headers: { 'if-none-match': '"no-match"' } },
  { path: '/big.bin', headers: { range: 'bytes=0-4095' } },
  { path: '/big.bin', headers: { range: 'bytes=0-9,100-109' } },
  { path: '/missing.txt' },
  { path: '/%2e%2e/etc/passwd' },
  { path: '/dir', method: 'HEAD' },
  { path: '/app.js', method: 'POST' }
]
await sleep(500)
const before = state(child.pid)
console.log(`soak: ${REQUESTS.toLocaleString('en')} requests, ${args.connections} connections, 12 kinds mixed`)
console.log(`before: ${before}`)
const result = await autocannon({ url: `http://${HOST}:${port}`, connections: Number(args.connections), amount: REQUESTS, requests, timeout: 10 })
await sleep(2000)
console.log(`after:  ${state(child.pid)}`)
console.log(`requests: ${result.requests.total.toLocaleString('en')} in ${(result.duration).toFixed(1)} s (${Math.round(result.requests.average).toLocaleString('en')}/s); ` +
  `errors ${result.errors}, timeouts ${result.timeouts}, 2xx ${result['2xx']}, 3xx ${result['3xx']}, 4xx ${result['4xx']}, 5xx ${result['5xx']}`)
// a second round: memory that only grew from caches filling stays flat from here on
const again = await autocannon({ url: `http://${HOST}:${port}`, connections: Number(args.connections), amount: Math.round(REQUESTS / 3), requests, timeout: 10 })
await sleep(2000)
console.log(`after another ${again.requests.total.toLocaleString('en')}: ${state(child.pid)}`)

// ------------------------------------------------------------------ SIGTERM under load
console.log('\nshutdown: 32 clients in a loop and 8 slow 8 MiB downloads, then SIGTERM')
const counts = { complete: 0, status503: 0, notStarted: 0, cut: 0 }
const load = { running: true }
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
function one () {
  return new Promise((resolve) => {
    let got = false
    const req = http.get({ host: HOST, port, path: '/app.js', agent }, (res) => {
      got = true
      res.resume()
      res.on('end', () => { if (res.statusCode === 503) counts.status503++; else counts.complete++; resolve() })
      res.on('aborted', () => { counts.cut++; resolve() })
    })
    req.on('error', () => { if (got) counts.cut++; else counts.notStarted++; resolve() })
  })
}
const loops = Array.from({ length: 32 }, async () => { while (load.running) await one() })
const downloads = Array.from({ length: 8 }, () => new Promise((resolve) => {
  let bytes = 0
  const req = http.get({ host: HOST, port, path: '/big.bin', agent: false }, (res) => {
    res.on('data', (d) => { bytes += d.length; res.pause(); setTimeout(() => res.resume(), 2) }) // slow: about a second each
    res.on('end', () => resolve(bytes))
    res.on('aborted', () => resolve(bytes))
  })
  req.on('error', () => resolve(bytes))
}))
await sleep(300)
const started = Date.now()
child.kill('SIGTERM')
const exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
const sizes = await Promise.all(downloads)
const code = await exit
load.running = false
await Promise.all(loops)
agent.destroy()
console.log(`exit ${code} after ${Date.now() - started} ms`)
console.log(`downloads under way at SIGTERM: ${sizes.filter((b) => b === 8 * 1024 * 1024).length} of 8 completed whole`)
console.log(`looping requests: ${counts.complete} complete, ${counts.status503} answered 503 during shutdown, ` +
  `${counts.notStarted} refused before they started, ${counts.cut} cut after they started (lost)`)
