#!/usr/bin/env node
// npm run attack: hostile clients against serve-dir, one attack at a time, with the server's memory
// (RSS), open descriptors and CPU measured before, at the peak during, and after the clients have
// gone, and a small file fetched every 100 ms meanwhile (its slowest answer is printed). Not part of
// npm test (test/e2e/hostile.test.ts runs smaller ones). Loopback only; every loop is bounded.
//
//   npm run attack                          # every attack, default sizes
//   npm run attack -- --only pipelining     # one (hit-and-run, h1-reset, h2-reset, slow-listing, archives, pipelining, h2-streams,
//                                           #   live-loop, live-streams, live-watches)
//   npm run attack -- --files 100000 --clients 300
//   ATTACK_PROJECT=../other-checkout ATTACK_OLD=1 node bench/attack.mjs --only live-streams
//                                           # against another built checkout (before/after); ATTACK_OLD: no flags it lacks
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fds, rss, startServer } from './process.mjs'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    files: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '5' }
  }
})
const FILES = Number(args.files)
const CLIENTS = Number(args.clients)
const HOLD_MS = Number(args.seconds) * 1000
const HOST = '127.0.0.1'
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ fixture (kept between runs)
const root = path.join(os.tmpdir(), 'serve-dir-attack')
const many = path.join(root, 'many')
mkdirSync(many, { recursive: true })
if (readdirSync(many).length !== FILES) {
  console.log(`making ${FILES.toLocaleString('en')} files in ${many} ...`)
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(many, `file-${String(i).padStart(6, '0')}.txt`), String(i))
}
if (!existsSync(path.join(root, 'big.bin'))) writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(64 * 1024 * 1024, 7))
writeFileSync(path.join(root, 'small.txt'), 'small\n')
const key = path.join(root, 'key.pem')
const cert = path.join(root, 'cert.pem')
if (!existsSync(cert)) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=localhost'], { stdio: 'ignore' })
}

// ------------------------------------------------------------------ server and probes
/** CPU seconds the process has used (user + system). */
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** Fetches a small file every 100 ms (over HTTPS for --http2) until stopped: the slowest answer, and how many failed. */
function probe (port, tls) {
  let slowest = 0
  let failed = 0
  const state = { stop: false }
  const once = () => new Promise((resolve) => {
    const began = Date.now()
    const req = (tls ? https : http).get({ host: HOST, port, path: '/small.txt', rejectUnauthorized: false, agent: false, timeout: 30000 }, (res) => {
      res.resume()
      res.on('end', () => { slowest = Math.max(slowest, Date.now() - began); resolve() })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => { failed++; slowest = Math.max(slowest, Date.now() - began); resolve() })
  })
  const loop = (async () => {
    while (!state.stop) {
      await once()
      await sleep(100)
    }
  })()
  return { stop: async () => { state.stop = true; await loop; return { slowest, failed } } }
}

/** Samples RSS and descriptors every 100 ms: the peak. */
function sampler (pid) {
  const peak = { rss: 0, fds: 0 }
  const timer = setInterval(() => {
    try {
      peak.rss = Math.max(peak.rss, rss(pid))
      peak.fds = Math.max(peak.fds, fds(pid))
    } catch {}
  }, 100)
  return { stop: () => { clearInterval(timer); return peak } }
}

/** After the attack: waits (up to 15 s) for RSS within 32 MiB of where it began and descriptors back to where they were. */
async function settle (pid, before) {
  const began = Date.now()
  while (Date.now() - began < 15000) {
    // the listing cache's inotify watch is one descriptor more, for good
    if (rss(pid) <= before.rss + 32 && fds(pid) <= before.fds + 1) break
    await sleep(250)
  }
  return { rss: rss(pid), fds: fds(pid), ms: Date.now() - began }
}

async function measure (name, attack, { tls = false, logged = false, args = [] } = {}) {
  const starting = Date.now()
  // logged: the server writes its request lines (default flags), to a stderr no one reads here
  const { child, port } = await startServer(['-d', root, '-l', logged ? 'info' : 'error', ...(tls ? ['--tls-cert', cert, '--tls-key', key, '--http2'] : []), ...args],
    (process.env.ATTACK_NODE_ARGS ?? '').split(' ').filter(Boolean), process.env.ATTACK_PROJECT, logged ? 'ignore' : 'inherit')
  if (args.length > 0) console.log(`${name.padEnd(13)} started in ${Date.now() - starting} ms`)
  try {
    await sleep(300)
    const before = { rss: rss(child.pid), fds: fds(child.pid), cpu: cpu(child.pid) }
    const peak = sampler(child.pid)
    const small = probe(port, tls)
    const began = Date.now()
    const what = await attack(port, child.pid)
    const attackMs = Date.now() - began
    const p = peak.stop()
    const s = await small.stop()
    const after = await settle(child.pid, before)
    if (process.env.ATTACK_NODE_ARGS?.includes('heapsnapshot-signal') === true) {
      process.kill(child.pid, 'SIGUSR2')
      await sleep(8000)
      console.log(`after a forced GC: RSS ${rss(child.pid).toFixed(0)} MiB`)
    }
    const used = cpu(child.pid) - before.cpu
    console.log(`${name.padEnd(13)} ${what}${child.exitCode === null ? '' : `; THE SERVER EXITED (${child.exitCode})`}`)
    console.log(`${''.padEnd(13)} RSS ${before.rss.toFixed(0)} -> peak ${p.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB after ${(after.ms / 1000).toFixed(1)} s; ` +
      `fds ${before.fds} -> ${p.fds} -> ${after.fds}; CPU ${used.toFixed(1)} s in ${(attackMs / 1000).toFixed(1)} s; ` +
      `small file: slowest ${s.slowest} ms, ${s.failed} failed`)
  } finally {
    child.kill('SIGKILL')
  }
}

// ------------------------------------------------------------------ attacks
/** Connect, send a request for the big sorted listing, close at once; CLIENTS times. */
async function h1Reset (port) {
  await Promise.all(Array.from({ length: CLIENTS }, () => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => {
      s.end('GET /many/?sort=size HTTP/1.1\r\nHost: x\r\n\r\n')
      s.destroy()
      resolve()
    })
    s.on('error', resolve)
  })))
  await sleep(HOLD_MS)
  return `${CLIENTS} connect-send-close of /many/?sort=size (${FILES.toLocaleString('en')} entries)`
}

/** HTTP/2 rapid reset: CLIENTS streams for the big listing on one session, each cancelled at once. */
async function h2Reset (port) {
  const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  await new Promise((resolve) => session.once('connect', resolve))
  for (let i = 0; i < CLIENTS; i++) {
    const stream = session.request({ ':path': '/many/?sort=size' })
    stream.on('error', () => {})
    stream.close(http2.constants.NGHTTP2_CANCEL)
  }
  await sleep(HOLD_MS)
  session.destroy()
  return `${CLIENTS} streams of /many/?sort=size opened and reset on one session`
}

/** 20 clients ask for the sorted listing and read nothing, then leave. */
async function slowListing (port) {
  const sockets = await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write('GET /many/?sort=size HTTP/1.1\r\nHost: x\r\n\r\n'); s.pause(); resolve(s) })
    s.on('error', () => {})
  })))
  await sleep(HOLD_MS)
  for (const s of sockets) s.destroy()
  return '20 clients asking for /many/?sort=size, reading nothing'
}

/** One whole zip of the many-file folder, then 4 readers of a zip and a tar.gz that read nothing. */
async function archives (port) {
  const bytes = await new Promise((resolve, reject) => {
    http.get({ host: HOST, port, path: '/many/?download=zip', agent: false }, (res) => {
      let n = 0
      res.on('data', (d) => { n += d.length })
      res.on('end', () => resolve(n))
    }).on('error', reject)
  })
  const sockets = await Promise.all(Array.from({ length: 4 }, (_, i) => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write(`GET /many/?download=${i % 2 === 0 ? 'zip' : 'tar.gz'} HTTP/1.1\r\nHost: x\r\n\r\n`); s.pause(); resolve(s) })
    s.on('error', () => {})
  })))
  await sleep(HOLD_MS)
  for (const s of sockets) s.destroy()
  return `a whole zip of /many/ (${(bytes / 1048576).toFixed(1)} MiB), then 4 archive readers reading nothing`
}

/** Four connections each write ~3.7 MB of pipelined GETs and read nothing. */
async function pipelining (port) {
  const request = 'GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-65535\r\n\r\n'
  const burst = request.repeat(Math.ceil(3.7e6 / request.length))
  const sockets = await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.pause(); s.write(burst); resolve(s) })
    s.on('error', () => {})
  })))
  await sleep(HOLD_MS)
  for (const s of sockets) s.destroy()
  return `4 connections x ${(burst.length / 1e6).toFixed(1)} MB of pipelined GETs (64 KiB ranges), read by no one`
}

/** 500 streams of a 64 MiB file on one HTTP/2 session, none of them read. */
async function h2Streams (port) {
  const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  await new Promise((resolve) => session.once('connect', resolve))
  let refused = 0
  for (let i = 0; i < 500; i++) {
    const stream = session.request({ ':path': '/big.bin' })
    stream.on('error', () => { refused++ })
    stream.pause()
  }
  await sleep(HOLD_MS)
  session.destroy()
  return `500 unread streams of a 64 MiB file on one session (${refused} refused by the server)`
}

/** Connect, send `GET /`, close at once, four at a time, for as long as the attack holds (default flags: request lines logged). */
async function hitAndRun (port) {
  let n = 0
  const began = Date.now()
  const end = began + Math.max(HOLD_MS, 10_000)
  const one = () => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); s.destroy() })
    s.on('close', resolve)
    s.on('error', () => {})
  })
  while (Date.now() < end && n < 1_000_000) {
    await Promise.all([one(), one(), one(), one()])
    n += 4
  }
  return `${n.toLocaleString('en')} connect-request-close of / in ${((Date.now() - began) / 1000).toFixed(0)} s, request lines logged`
}

/** inotify watches process `pid` holds (from /proc/PID/fdinfo). */
function inotifyWatches (pid) {
  let n = 0
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length
    } catch {}
  }
  return n
}

// live reload's trees: a link loop (`loop -> .`, `a/up -> ..`) and an empty folder that fills up
const loopSite = path.join(root, 'loop-site')
mkdirSync(path.join(loopSite, 'a'), { recursive: true })
writeFileSync(path.join(loopSite, 'index.html'), '<body>hi</body>')
for (const [link, to] of [['loop', '.'], ['a/up', '..']]) {
  try { symlinkSync(to, path.join(loopSite, link)) } catch {}
}
writeFileSync(path.join(loopSite, 'small.txt'), 'small\n')
const liveSite = path.join(root, 'live-site')
rmSync(liveSite, { recursive: true, force: true })
mkdirSync(liveSite)
writeFileSync(path.join(liveSite, 'small.txt'), 'small\n')

/** --live-reload --symlinks follow on a tree with a link loop: watches and memory for HOLD_MS. */
async function liveLoop (port, pid) {
  await sleep(HOLD_MS)
  return `--live-reload --symlinks follow on a tree with loop -> . (${inotifyWatches(pid)} inotify watches)`
}

/** 200 event streams (from 20 loopback addresses) that never read, while 20,000 files are made in 40 batches. */
async function liveStreams (port) {
  let refused = 0
  const sockets = await Promise.all(Array.from({ length: 200 }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ port, host: HOST, localAddress: `127.0.0.${1 + (i % 20)}` }, () => {
      s.write('GET /.serve-dir/live HTTP/1.1\r\nHost: localhost\r\n\r\n')
      s.once('data', (d) => { if (!d.toString().startsWith('HTTP/1.1 200')) refused++; s.pause(); resolve(s) })
    })
    s.on('error', () => resolve(s))
  })))
  for (let b = 0; b < 40; b++) {
    for (let i = 0; i < 500; i++) writeFileSync(path.join(liveSite, `${'n'.repeat(180)}-${b}-${i}.html`), 'x')
    // past the quiet period: one batch (one event per stream) each
    await sleep(250)
  }
  await sleep(HOLD_MS)
  for (const s of sockets) s.destroy()
  return `200 unread event streams (${refused} refused), 20,000 files with long names made in 40 batches`
}

/** --live-reload on the fixture (FILES files in one folder): watches held while serving. */
async function liveWatches (port, pid) {
  await sleep(HOLD_MS)
  return `--live-reload on ${FILES.toLocaleString('en')} files: ${inotifyWatches(pid)} inotify watches`
}

const ATTACKS = {
  'hit-and-run': [hitAndRun, { logged: true }],
  'h1-reset': [h1Reset],
  'h2-reset': [h2Reset, { tls: true }],
  'slow-listing': [slowListing],
  archives: [archives],
  pipelining: [pipelining],
  'h2-streams': [h2Streams, { tls: true }],
  'live-loop': [liveLoop, { args: ['-d', loopSite, '--live-reload', '--symlinks', 'follow'] }],
  'live-streams': [liveStreams, { args: ['-d', liveSite, '--live-reload', ...(process.env.ATTACK_OLD ? [] : ['--max-live-streams', '200'])] }],
  'live-watches': [liveWatches, { args: ['--live-reload'] }]
}
console.log(`node ${process.version}, ${os.availableParallelism()} cores; ${FILES.toLocaleString('en')} files in /many/`)
for (const [name, [attack, opts]] of Object.entries(ATTACKS)) {
  if (args.only !== undefined && args.only !== name) continue
  await measure(name, attack, opts)
}
