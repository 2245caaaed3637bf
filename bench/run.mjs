#!/usr/bin/env node
// npm run bench: our server beside bare Fastify + @fastify/static and python3 -m http.server, on
// one fixture, in one run, with ratios to the bare baseline. A benchmark, never a test: it prints
// numbers and exits 0 whatever they are. Loopback only; every run is bounded in time.
//
//   npm run bench                    # all workloads, 5 s each
//   npm run bench -- --duration 10   # longer runs
//   npm run bench -- --quick         # 2 s runs, for a smoke check
//   npm run bench -- --servers ours,fastify-static
//   npm run bench -- --node /path/to/node24/bin/node   # ours and the bare baseline on another Node
//   npm run bench -- --startup-only                    # only the start-to-first-response row
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync, openSync, closeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = path.dirname(fileURLToPath(import.meta.url))
const project = path.join(here, '..')
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'ours,fastify-static,python' },
    fixture: { type: 'string', default: path.join(os.tmpdir(), 'serve-dir-bench-own') },
    connections: { type: 'string', default: '32' },
    node: { type: 'string', default: process.execPath },
    'startup-reps': { type: 'string', default: '15' },
    'startup-only': { type: 'boolean', default: false }
  }
})
const DURATION = args.quick ? 2 : Number(args.duration)
const CONNECTIONS = Number(args.connections)
const HOST = '127.0.0.1'
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0
const hasWrk = spawnSync('wrk', ['--version']).error === undefined
const hasCurl = spawnSync('curl', ['--version']).status === 0
// the harness (and its own requests) on CPU 1 too, away from the server
if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)])
// the system's python3 first: a pyenv shim adds a shell's start to every start measured
const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0)

function log (...m) { console.error('[bench]', ...m) }

// ---------------------------------------------------------------- fixture
function buildFixture (root) {
  const marker = path.join(root, '.complete-v1')
  if (existsSync(marker)) return
  log('building fixture in', root, '(once; ~110 MB, 101,000 files)')
  mkdirSync(root, { recursive: true })
  writeFileSync(path.join(root, 'index.html'), '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>bench</title>' +
    '<link rel="stylesheet" href="small.css"></head><body><h1>serve-dir bench</h1><p>index page</p></body></html>\n')
  writeFileSync(path.join(root, 'small.css'), ('body { margin: 0; padding: 0 }\n'.repeat(200)).slice(0, 4096))
  writeFileSync(path.join(root, '1m.bin'), randomBytes(1024 * 1024))
  const fd = openSync(path.join(root, '100m.bin'), 'w')
  for (let i = 0; i < 100; i++) writeFileSync(fd, randomBytes(1024 * 1024))
  closeSync(fd)
  mkdirSync(path.join(root, 'dir1k'), { recursive: true })
  for (let i = 0; i < 1000; i++) writeFileSync(path.join(root, 'dir1k', `f${String(i).padStart(4, '0')}.txt`), `file ${i}\n`)
  mkdirSync(path.join(root, 'dir100k'), { recursive: true })
  for (let i = 0; i < 100000; i++) closeSync(openSync(path.join(root, 'dir100k', `e${String(i).padStart(6, '0')}.dat`), 'w'))
  writeFileSync(marker, new Date().toISOString())
}

/** A 1 GiB folder for the folder-download measurement (ours only: the others have no such feature). */
function buildGig (root) {
  const dir = path.join(root, 'gig')
  if (existsSync(path.join(dir, '.complete'))) return
  log('building gig/ (1 GiB, once)')
  mkdirSync(dir, { recursive: true })
  const chunk = randomBytes(1024 * 1024)
  for (let f = 0; f < 8; f++) {
    const fd = openSync(path.join(dir, `part${f}.bin`), 'w')
    for (let i = 0; i < 128; i++) writeFileSync(fd, chunk)
    closeSync(fd)
  }
  writeFileSync(path.join(dir, '.complete'), '')
}

// ---------------------------------------------------------------- servers
const SERVERS = {
  // request logging off, as for nginx (access_log off) in ../shared/bench
  ours: (port, root) => [args.node, [path.join(project, 'dist/bin/serve-dir.js'), String(port), '--bind', HOST, '--directory', root, '--log-level', 'warn'], {}],
  'fastify-static': (port, root) => [args.node, [path.join(here, 'fastify-static.mjs')], { PORT: String(port), ROOT: root, HOST }],
  python: (port, root) => [python, ['-m', 'http.server', String(port), '--bind', HOST, '--directory', root], {}]
}

async function freePort () {
  const s = net.createServer().listen(0, HOST)
  await new Promise((resolve) => s.once('listening', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

async function start (name, root) {
  const port = await freePort()
  const [cmd, argv, env] = SERVERS[name](port, root)
  const full = hasTaskset ? ['taskset', ['-c', '0', cmd, ...argv]] : [cmd, argv]
  const child = spawn(full[0], full[1], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] })
  const deadline = Date.now() + 20000
  for (;;) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`)
    try {
      const r = await request(port, '/', {}, 1000)
      if (r.status === 200) break
    } catch {}
    await sleep(50)
  }
  await sleep(500)
  return { name, port, child, pid: child.pid, idle: rssOf(child.pid) }
}

async function stop (s) {
  s.child.kill('SIGTERM')
  const t = setTimeout(() => s.child.kill('SIGKILL'), 5000)
  if (s.child.exitCode === null) await new Promise((resolve) => s.child.once('exit', resolve))
  clearTimeout(t)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Start to first response: from spawning the process until its first `GET /` is answered 200,
 * polling every 2 ms (a refused connection costs microseconds). The median of `reps` starts, after
 * one unmeasured start that fills the OS's file cache (and Node's compile cache, where it has one).
 */
async function startup (name, root, reps) {
  const times = []
  for (let i = 0; i <= reps; i++) {
    const port = await freePort()
    const [cmd, argv, env] = SERVERS[name](port, root)
    const full = hasTaskset ? ['taskset', ['-c', '0', cmd, ...argv]] : [cmd, argv]
    const began = process.hrtime.bigint()
    const child = spawn(full[0], full[1], { env: { ...process.env, ...env }, stdio: 'ignore' })
    const deadline = Date.now() + 20000
    for (;;) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`)
      const ok = await request(port, '/', {}, 1000).then((r) => r.status === 200, () => false)
      if (ok) break
      await sleep(2)
    }
    if (i > 0) times.push(Number(process.hrtime.bigint() - began) / 1e6)
    await stop({ child })
  }
  times.sort((a, b) => a - b)
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] }
}

/** Resident memory of a process tree in MiB (taskset execs, so the pid is the server). */
function rssOf (pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    return kb / 1024
  } catch { return NaN }
}

function request (port, urlPath, headers = {}, timeout = 60000) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    let firstByte
    let bytes = 0
    const req = http.get({ host: HOST, port, path: urlPath, headers, agent: false }, (res) => {
      res.on('data', (c) => { firstByte ??= process.hrtime.bigint(); bytes += c.length })
      res.on('end', () => {
        const end = process.hrtime.bigint()
        resolve({ status: res.statusCode, headers: res.headers, bytes, ttfb: Number((firstByte ?? end) - started) / 1e6, total: Number(end - started) / 1e6 })
      })
    })
    req.setTimeout(timeout, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

/** curl, as ../shared/bench measures single downloads: Node's own client cannot keep up with 1 GiB/s. */
function curl (port, urlPath) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-o', '/dev/null', '--max-time', '120', '-w', '%{http_code} %{time_starttransfer} %{time_total} %{size_download}', `http://${HOST}:${port}${urlPath}`])
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('error', reject)
    child.on('close', () => {
      const [status, ttfb, total, bytes] = out.split(' ').map(Number)
      resolve({ status, ttfb: ttfb * 1000, total: total * 1000, bytes })
    })
  })
}

// ---------------------------------------------------------------- load
async function load (port, urlPath, { connections = CONNECTIONS, headers = {} } = {}) {
  if (hasWrk) {
    const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
    const wrk = (d) => execFileSync(hasTaskset ? 'taskset' : 'wrk', [...(hasTaskset ? ['-c', '1', 'wrk'] : []), '-t1', `-c${connections}`, `-d${d}s`, '--latency', '--timeout', '10s', ...h, `http://${HOST}:${port}${urlPath}`], { encoding: 'utf8', timeout: (d + 30) * 1000 })
    wrk(3)
    const out = wrk(DURATION)
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1])
    const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out)
    const mib = Number(transfer[1]) * { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 }[transfer[2]]
    const p99 = /99%\s+([\d.]+)(\w+)/.exec(out)
    const ms = Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]]
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0'
    return { rps, mib, p99: ms, errors: Number(errors) }
  }
  const { default: autocannon } = await import('autocannon')
  const run = (d) => autocannon({ url: `http://${HOST}:${port}${urlPath}`, connections, duration: d, headers })
  await run(1)
  const r = await run(DURATION)
  return { rps: r.requests.average, mib: r.throughput.average / 1048576, p99: r.latency.p99, errors: r.non2xx }
}

/** One request with RSS sampled every 5 ms; on a fresh server so the peak is this request's own. */
async function single (name, root, urlPath) {
  const s = await start(name, root)
  try {
    let peak = rssOf(s.pid)
    const timer = setInterval(() => { peak = Math.max(peak, rssOf(s.pid)) }, 5)
    const r = hasCurl ? await curl(s.port, urlPath) : await request(s.port, urlPath)
    clearInterval(timer)
    return { ...r, idle: s.idle, peak, mibps: r.bytes / 1048576 / (r.total / 1000) }
  } finally {
    await stop(s)
  }
}

// ---------------------------------------------------------------- main
const root = args.fixture
buildFixture(root)
if (!args['startup-only']) buildGig(root)
const servers = args.servers.split(',').filter((n) => SERVERS[n] && (n !== 'python' || python))
log(`servers: ${servers.join(', ')}; ${DURATION} s per load; load generator: ${hasWrk ? 'wrk' : 'autocannon'}; pinned: ${hasTaskset}`)

const results = {}
for (const name of servers) {
  log(`== ${name}`)
  const r = {}
  r.startup = await startup(name, root, Number(args['startup-reps']))
  log(`${name}: start to first response ${r.startup.median.toFixed(0)} ms (median; min ${r.startup.min.toFixed(0)}, max ${r.startup.max.toFixed(0)})`)
  if (args['startup-only']) {
    results[name] = r
    continue
  }
  const s = await start(name, root)
  try {
    r.root = await load(s.port, '/')
    r.small = await load(s.port, '/small.css')
    const first = await request(s.port, '/small.css')
    const cond = first.headers.etag ? { 'if-none-match': first.headers.etag } : { 'if-modified-since': first.headers['last-modified'] }
    const condCheck = await request(s.port, '/small.css', cond)
    r.cond = { ...(await load(s.port, '/small.css', { headers: cond })), note: String(condCheck.status) }
    const rangeCheck = await request(s.port, '/1m.bin', { range: 'bytes=0-1023' })
    r.range = { ...(await load(s.port, '/1m.bin', { headers: { range: 'bytes=0-1023' } })), note: String(rangeCheck.status) }
    r.big1m = await load(s.port, '/1m.bin', { connections: 8 })
    r.dir1k = await load(s.port, '/dir1k/')
    r.idle = s.idle
  } finally {
    await stop(s)
  }
  r.big100m = await single(name, root, '/100m.bin')
  r.dir100k = await single(name, root, '/dir100k/')
  if (name === 'ours') r.zip = await single(name, root, '/gig/?download=zip')
  results[name] = r
}

// ---------------------------------------------------------------- table
const base = results['fastify-static']
const rows = [
  [`start to first response, ms (median of ${args['startup-reps']})`, (r) => r.startup.median, '↓'],
  ['GET / (index.html), req/s', (r) => r.root?.rps ?? NaN, '↑'],
  ['GET /small.css (4 KiB), req/s', (r) => r.small.rps, '↑'],
  ['conditional GET, req/s', (r) => r.cond.rps, '↑', (r) => r.cond.note],
  ['Range bytes=0-1023, req/s', (r) => r.range.rps, '↑', (r) => r.range.note],
  ['1 MiB file, 8 conns, MiB/s', (r) => r.big1m.mib, '↑'],
  ['100 MiB file, MiB/s', (r) => r.big100m.mibps, '↑'],
  ['100 MiB file, peak RSS - idle, MiB', (r) => r.big100m.peak - r.big100m.idle, '↓'],
  ['listing 1,000 entries, req/s', (r) => r.dir1k.rps, '↑'],
  ['listing 1,000, p99 latency, ms', (r) => r.dir1k.p99, '↓'],
  ['listing 100,000: first byte, ms', (r) => r.dir100k.ttfb, '↓'],
  ['listing 100,000: total, ms', (r) => r.dir100k.total, '↓'],
  ['listing 100,000: peak RSS - idle, MiB', (r) => r.dir100k.peak - r.dir100k.idle, '↓'],
  ['GET /small.css, p99 latency, ms', (r) => r.small.p99, '↓'],
  ['idle RSS, MiB', (r) => r.idle, '↓'],
  ['1 GiB folder as zip, MiB/s', (r) => r.zip?.mibps ?? NaN, '↑'],
  ['1 GiB folder as zip, peak RSS - idle, MiB', (r) => r.zip ? r.zip.peak - r.zip.idle : NaN, '↓']
]
const fmt = (n) => Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2)) : '-'
const head = ['workload', ...servers.flatMap((n) => n === 'fastify-static' || !base ? [n] : [n, `${n} ÷ bare`])]
const lines = [head]
const value = (get, r) => { try { return get(r) } catch { return NaN } }
for (const [label, get, better, note] of rows) {
  if (servers.every((n) => !Number.isFinite(value(get, results[n])))) continue
  const line = [`${label} ${better}`]
  for (const n of servers) {
    const v = value(get, results[n])
    line.push(fmt(v) + (note ? ` [${note(results[n])}]` : ''))
    if (n !== 'fastify-static' && base) line.push(fmt(v / value(get, base)) + '×')
  }
  lines.push(line)
}
const nodeVersion = execFileSync(args.node, ['--version'], { encoding: 'utf8' }).trim()
console.log(`\nserve-dir bench, ${new Date().toISOString()}, node ${nodeVersion}, ${os.cpus().length} cores, ${DURATION} s runs, ` +
  `${hasWrk ? 'wrk' : 'autocannon'} -c${CONNECTIONS}${hasTaskset ? ', server on CPU 0, load on CPU 1' : ''}; ratios are to bare Fastify + @fastify/static in this run\n`)
console.log('| ' + head.join(' | ') + ' |')
console.log('|' + head.map(() => '---').join('|') + '|')
for (const l of lines.slice(1)) console.log('| ' + l.join(' | ') + ' |')
