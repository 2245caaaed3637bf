#!/usr/bin/env node
// npm run attack: hostile clients against serve-dir, one attack at a time, with the server's memory
// (RSS), open descriptors and CPU measured before, at the peak during, and after the clients have
// gone, and a small file fetched every 100 ms meanwhile (its slowest answer is printed). Not part of
// npm test (test/e2e/hostile.test.ts runs smaller ones). Loopback only; every loop is bounded.
//
//   npm run attack                          # every attack, default sizes
//   npm run attack -- --only pipelining     # one (hit-and-run, h1-reset, h2-reset, slow-listing, archives, pipelining,
//                                           #   h2-streams, h2-unread, slow-uploads, trickle-upload, deep-tree, brotli,
//                                           #   brotli-live, brotli-unread, live-loop, live-streams, live-watches)
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
if (!existsSync(path.join(root, 'big8.bin'))) writeFileSync(path.join(root, 'big8.bin'), Buffer.alloc(8 * 1024 * 1024, 7))
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

async function measure (name, attack, { tls = false, logged = false, dir = root, args = [] } = {}) {
  const starting = Date.now()
  // logged: the server writes its request lines (default flags), to a stderr no one reads here
  const { child, port } = await startServer(['-d', dir, '-l', logged ? 'info' : 'error', ...args, ...(tls ? ['--tls-cert', cert, '--tls-key', key, '--http2'] : [])],
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

/** A raw PUT from `from` (another loopback address is another client): its head and one byte, then held; `status()` is the answer's. */
async function heldUpload (port, from, target, length = 1000000) {
  const s = net.connect({ port, host: HOST, localAddress: from })
  let answer = ''
  s.on('data', (d) => { answer += d })
  s.on('error', () => {})
  await new Promise((resolve) => s.once('connect', resolve))
  s.write(`PUT ${target} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${length}\r\n\r\nx`)
  return { s, status: () => answer.split(' ')[1] }
}

/** Answers, counted by status. */
function byStatus (uploads) {
  const counts = {}
  for (const u of uploads) counts[u.status() ?? 'none'] = (counts[u.status() ?? 'none'] ?? 0) + 1
  return Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')
}

/** 400 PUTs from 100 addresses (four each) trickling a byte every 20 s, held for the attack. */
async function slowUploads (port) {
  const uploads = await Promise.all(Array.from({ length: 400 }, (_, i) => heldUpload(port, `127.0.0.${2 + (i % 100)}`, `/uploads/slow-${i}.bin`)))
  const trickle = setInterval(() => { for (const u of uploads) if (!u.s.destroyed) u.s.write('x') }, 20000)
  await sleep(HOLD_MS)
  clearInterval(trickle)
  const answers = byStatus(uploads)
  for (const u of uploads) u.s.destroy()
  return `400 PUTs from 100 addresses trickling a byte every 20 s (answers: ${answers})`
}

/** One PUT sending a byte every 2 s (never idle for long): how long until the server cuts it (at most 40 s). */
async function trickleUpload (port) {
  const u = await heldUpload(port, HOST, '/uploads/trickle.bin')
  const began = Date.now()
  while (!u.s.destroyed && u.status() === undefined && Date.now() - began < 40000) {
    u.s.write('x')
    await sleep(2000)
  }
  const status = u.status()
  u.s.destroy()
  return `one PUT sending a byte every 2 s: ${status === undefined ? 'still open' : `answered ${status}`} after ${((Date.now() - began) / 1000).toFixed(0)} s`
}

/** One PUT 2,700 folders deep, then a zip of a 1,500-level tree (made on disk) read by no one. */
async function deepTree (port) {
  const put = await new Promise((resolve) => {
    const req = http.request({ host: HOST, port, method: 'PUT', path: '/uploads/' + 'd/'.repeat(2700) + 'x.txt', agent: false }, (res) => { res.resume(); resolve(res.statusCode) })
    req.on('error', (err) => resolve(err.code))
    req.end('x')
  })
  const deep = path.join(root, 'deep')
  if (!existsSync(deep)) mkdirSync(path.join(deep, ...Array(1500).fill('d')), { recursive: true })
  const zip = await new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write('GET /deep/?download=zip HTTP/1.1\r\nHost: x\r\n\r\n'); s.pause(); resolve(s) })
    s.on('error', () => {})
  })
  await sleep(HOLD_MS)
  zip.destroy()
  // deeper than a path may be long: rm walks it folder by folder
  execFileSync('rm', ['-rf', path.join(root, 'uploads', 'd')])
  return `a PUT 2,700 folders deep (${put}), then a zip of a 1,500-level tree read by no one`
}

/**
 * 11 connections x 100 streams of an 8 MiB file (and one more each, over the limit), none read,
 * then every connection closed at once: what the streams held must go with them.
 */
async function h2Unread (port) {
  const sessions = []
  let refused = 0
  for (let c = 0; c < 11; c++) {
    // streams past the server's limit are sent too: a hostile client does not wait for its SETTINGS
    const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false, peerMaxConcurrentStreams: 1000 })
    session.on('error', () => {})
    for (let i = 0; i < 101; i++) {
      const stream = session.request({ ':path': '/big8.bin' })
      stream.on('response', (h) => { if (h[':status'] === 503) refused++ })
      stream.on('error', () => {})
      stream.pause()
    }
    sessions.push(session)
  }
  await sleep(HOLD_MS)
  for (const s of sessions) s.destroy()
  return `11 connections x 101 unread streams of an 8 MiB file, then closed (${refused} answered 503)`
}

/**
 * A folder of its own for the compression attacks (live reload would watch every file of /many/):
 * an 8 MiB JSON file, a 7.5 MiB page, and the probe's small file.
 */
function codedRoot () {
  const dir = path.join(os.tmpdir(), 'serve-dir-attack-coded')
  mkdirSync(dir, { recursive: true })
  // varied enough that brotli works for its bytes (a run of one byte would cost it nothing)
  const rows = (n) => Array.from({ length: n }, (_, i) => `{"id":${i},"name":"item ${(i * 2654435761) % 1e9}","x":${Math.sin(i)}}`)
  if (!existsSync(path.join(dir, 'big.json'))) {
    const json = '[' + rows(120_000).join(',\n') + ']'
    writeFileSync(path.join(dir, 'big.json'), json.padEnd(8 * 1024 * 1024, ' '))
  }
  if (!existsSync(path.join(dir, 'page.html'))) {
    writeFileSync(path.join(dir, 'page.html'), '<!doctype html><html><body><pre>' + rows(110_000).join('\n').slice(0, 7.5 * 1024 * 1024) + '</pre></body></html>')
  }
  writeFileSync(path.join(dir, 'small.txt'), 'small\n')
  return dir
}

/** 40 clients asking for `url` with `Accept-Encoding: br` one after another (each read whole) for 6 x --seconds. */
async function brotliClients (port, url, headers) {
  const until = Date.now() + 6 * HOLD_MS
  let answers = 0
  let coded = 0
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: url, agent: false, headers: { 'accept-encoding': 'br', ...headers } }, (res) => {
      if (res.headers['content-encoding'] === 'br') coded++
      res.resume()
      res.on('end', () => { answers++; resolve() })
      res.on('error', resolve)
    })
    req.on('error', resolve)
  })
  await Promise.all(Array.from({ length: 40 }, async () => { while (Date.now() < until) await one() }))
  return `40 clients x ${(6 * HOLD_MS / 1000).toFixed(0)} s of ${url} with Accept-Encoding: br: ${answers} answers, ${coded} of them brotli`
}

/** On-the-fly brotli of an 8 MiB JSON file. */
const brotliBig = (port) => brotliClients(port, '/big.json', {})
/** The same through live reload: a 7.5 MiB page, read whole, tagged, then compressed. */
const brotliLive = (port) => brotliClients(port, '/page.html', { accept: 'text/html', 'sec-fetch-dest': 'document' })
/** 40 clients ask for the 8 MiB JSON with `Accept-Encoding: br` and read nothing for --seconds, then leave. */
async function brotliUnread (port) {
  const sockets = await Promise.all(Array.from({ length: 40 }, () => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write('GET /big.json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n'); s.pause(); resolve(s) })
    s.on('error', () => {})
  })))
  await sleep(HOLD_MS)
  for (const s of sockets) s.destroy()
  return '40 clients asking for /big.json with Accept-Encoding: br, reading nothing'
}

const CODED = codedRoot()
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
  'slow-uploads': [slowUploads, { args: ['--upload', '/uploads'] }],
  'trickle-upload': [trickleUpload, { args: ['--upload', '/uploads'] }],
  'deep-tree': [deepTree, { args: ['--upload', '/uploads'] }],
  'h2-unread': [h2Unread, { tls: true }],
  brotli: [brotliBig, { dir: CODED }],
  'brotli-live': [brotliLive, { dir: CODED, args: ['--live-reload'] }],
  'brotli-unread': [brotliUnread, { dir: CODED }],
  'live-loop': [liveLoop, { args: ['-d', loopSite, '--live-reload', '--symlinks', 'follow'] }],
  'live-streams': [liveStreams, { args: ['-d', liveSite, '--live-reload', ...(process.env.ATTACK_OLD ? [] : ['--max-live-streams', '200'])] }],
  'live-watches': [liveWatches, { args: ['--live-reload'] }]
}
console.log(`node ${process.version}, ${os.availableParallelism()} cores; ${FILES.toLocaleString('en')} files in /many/`)
for (const [name, [attack, opts]] of Object.entries(ATTACKS)) {
  if (args.only !== undefined && args.only !== name) continue
  await measure(name, attack, opts)
}
