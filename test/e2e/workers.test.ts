import t, { type Test } from 'tap'
import path from 'node:path'
import net from 'node:net'
import { execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { parseWorkers } from '../../lib/workers'
import { ProjectRoot, accepts, built, exitOf, freePort, rawRequest, spawnReaped, waitFor } from '../helper'

interface Proc { child: ChildProcessWithoutNullStreams, out: () => string, err: () => string }

/** Runs a built script (its workers too count for coverage, through the source maps); all its processes are killed when `t` ends. */
function run (t: Test, script: string, args: string[]): Proc {
  const child = spawnReaped(t, process.execPath, [built('bin', script), ...args], { cwd: ProjectRoot })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  return { child, out: () => out, err: () => err }
}

const until = waitFor

function workerPids (primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

const held: net.Socket[] = []
t.teardown(() => { for (const s of held) s.destroy() })

/**
 * How many workers have taken a connection: opens one more (kept open), then asks `ss` which
 * processes hold the server side of connections to `port` (the primary hands them to workers).
 */
function servingPids (port: number, primary: number): number {
  held.push(net.connect(port, '127.0.0.1'))
  const ss = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' })
  const pids = new Set([...ss.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))
  return workerPids(primary).filter((w) => pids.has(w)).length
}

t.test('parseWorkers', async (t) => {
  t.same(parseWorkers(['start', 'x']), { workers: availableParallelism(), rest: ['start', 'x'] })
  t.same(parseWorkers(['-w', '3', 'start']), { workers: 3, rest: ['start'] })
  t.same(parseWorkers(['start', '--workers', '0']), { workers: availableParallelism(), rest: ['start'] })
  t.throws(() => parseWorkers(['-w', 'many']), { message: /not a number of workers/ })
})

t.test('serve-dir --workers 2: one first line, a dead worker is replaced, SIGINT stops all', async (t) => {
  const dir = t.testdir({ 'a.txt': 'shared' })
  // a fixed port: with port 0, a replaced worker that is alone would listen on a new random port
  const port = await freePort()
  const p = run(t, 'serve-dir.js', [String(port), '-d', dir, '-w', '2'])
  await until('the first line', () => p.out().includes('\n'))
  t.match(p.out(), /^Serving HTTP on 127\.0\.0\.1 port \d+ \(http:\/\/127\.0\.0\.1:\d+\/\) \.\.\.\n$/, 'said once')
  await until('two workers', () => workerPids(p.child.pid as number).length === 2)
  t.equal((await rawRequest(port, '/a.txt')).body, 'shared')
  await until('both workers serving', () => servingPids(port, p.child.pid as number) === 2)

  let served = ''
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    // SIGTERM: it closes and exits 0 on its own; SIGKILL: it is killed
    const [victim] = workerPids(p.child.pid as number)
    for (const s of held.splice(0)) s.destroy() // so that a graceful close has nothing to wait for
    process.kill(victim, signal)
    await until('a new worker', () => { const w = workerPids(p.child.pid as number); return w.length === 2 && !w.includes(victim) })
    const said = `worker ${victim} died (${signal === 'SIGTERM' ? 'exit 0' : 'SIGKILL'}); starting another`
    await until('the primary to say so', () => p.err().includes(said))
    t.match(p.err(), said)
    if (signal === 'SIGTERM') await until('both workers serving', () => servingPids(port, p.child.pid as number) === 2)
  }
  // the other worker may still be starting: wait for service
  await until('service again', () => {
    rawRequest(port, '/a.txt').then((r) => { served = r.body }, () => {})
    return served === 'shared'
  })
  for (let i = 0; i < 4; i++) t.equal((await rawRequest(port, '/a.txt')).body, 'shared', 'still serving')

  process.kill(-(p.child.pid as number), 'SIGINT') // a terminal's Ctrl-C reaches the whole group
  t.equal(await exitOf(p.child), 0)
  t.equal(p.out().split('Keyboard interrupt received, exiting.').length, 2, 'said once')
})

t.test('serve-dir --workers: a startup failure is one line and exit 1', async (t) => {
  const p = run(t, 'serve-dir.js', ['0', '-d', path.join(t.testdir({}), 'missing'), '-w', '0', '-l', 'warn'])
  t.equal(await exitOf(p.child), 1)
  t.match(p.err(), /^serve-dir: error: Invalid serve-dir root ".*missing": no such directory\n$/)
})

t.test('serve-dir --workers: a second signal while a download holds the close exits at once', async (t) => {
  const dir = t.testdir({})
  // more than the socket buffers hold (sparse: no disk used)
  writeFileSync(path.join(dir, 'big.bin'), '')
  truncateSync(path.join(dir, 'big.bin'), 256 * 1024 * 1024)
  const port = await freePort()
  // a grace period no test reaches: the only way out is the second signal
  const p = run(t, 'serve-dir.js', [String(port), '-d', dir, '-w', '2', '--bind', '::1', '--grace', '600', '--log-format', 'python', '-l', 'warn'])
  await until('the first line', () => p.out().includes('\n'))
  t.equal(p.out(), `Serving HTTP on ::1 port ${port} (http://[::1]:${port}/) ...\n`)
  const socket = net.connect(port, '::1')
  t.teardown(() => { socket.destroy() })
  socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(socket, 'data')
  socket.pause()
  process.kill(p.child.pid as number, 'SIGTERM')
  // the workers have taken the signal once the port refuses new connections
  await until('the workers to stop taking connections', async () => !(await accepts(port, '::1')))
  socket.resume()
  await once(socket, 'data')
  socket.pause()
  t.equal(p.child.exitCode, null, 'the first signal waits for the download, which still flows')
  process.kill(p.child.pid as number, 'SIGTERM')
  t.equal(await exitOf(p.child), 128 + 15)
  t.equal(p.err(), '', '-l warn: shutdown says nothing either')
})

t.test('npm run start:workers: fastify start in workers', async (t) => {
  const dir = t.testdir({ 'index.html': 'from a worker' })
  const port = await freePort()
  const p = run(t, 'workers.js', ['-w', '2', 'start', '-l', 'info', '-a', '127.0.0.1', '-p', String(port), built('app.js'), '--', '--root', dir])
  await until('workers listening', () => (p.out().match(/Server listening/g) ?? []).length >= 2 || p.child.exitCode !== null)
  t.equal((await rawRequest(port, '/')).body, 'from a worker')
  process.kill(p.child.pid as number, 'SIGTERM')
  t.equal(await exitOf(p.child), 0)
})

t.test('serve-dir --workers 4 --upload: of twenty PUTs of one name at once, exactly one wins', async (t) => {
  const dir = t.testdir({})
  const port = await freePort()
  // twenty at once from one address: more than its default share of uploads
  const p = run(t, 'serve-dir.js', [String(port), '-d', dir, '-w', '4', '--upload', '--max-client-uploads', '20', '-l', 'warn'])
  await until('the first line', () => p.out().includes('\n'))
  await until('four workers', () => workerPids(p.child.pid as number).length === 4)
  await until('all four serving', () => servingPids(port, p.child.pid as number) === 4)
  const put = async (i: number): Promise<string> => await new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let text = ''
    socket.setTimeout(60_000, () => socket.destroy(new Error('no answer')))
    socket.on('data', (c) => { text += c.toString() })
    socket.on('error', reject)
    socket.on('close', () => { resolve(text.slice(9, 12)) })
    const body = `writer ${i} `.repeat(20_000)
    socket.write(`PUT /same.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  })
  const statuses = await Promise.all(Array.from({ length: 20 }, async (_, i) => await put(i)))
  t.equal(statuses.filter((s) => s === '201').length, 1, `one 201: ${statuses.join(' ')}`)
  t.equal(statuses.filter((s) => s === '409').length, 19, 'the rest 409')
  t.same(readdirSync(dir), ['same.txt'], 'no temporary file left')
  t.match(readFileSync(path.join(dir, 'same.txt'), 'utf8'), /^(writer \d+ )+$/)
  t.equal(new Set(readFileSync(path.join(dir, 'same.txt'), 'utf8').match(/writer \d+/g)).size, 1, 'one writer\'s bytes, whole')
})
