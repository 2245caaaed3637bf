// Hostile clients against the built command: a burst of requests for a big sorted listing whose
// clients leave at once (over HTTP/1.1 and as an HTTP/2 rapid reset), and slow readers of it.
// The server's CPU, memory and descriptors are measured before, during and after; a small file
// must be answered meanwhile. Bounded: fixed counts, every wait bounded (`PATIENCE`); the bigger
// numbers are `npm run attack`'s.
import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import http2 from 'node:http2'
import { once } from 'node:events'
import { execFileSync } from 'node:child_process'
import { PATIENCE, rawRequest, startCommand, waitFor } from '../helper'
import { servedMeanwhile, cpu, fds, quiet, rss, smallFileWhile } from './measure'

const FILES = 12_000
const many: Record<string, string> = {}
for (let i = 0; i < FILES; i++) many[`file-${String(i).padStart(5, '0')}.txt`] = String(i % 97)
/** One folder for every test here (each starts its own server): 12,000 files take seconds to make. */
const root = t.testdir({ many, 'small.txt': 'small\n', tls: {} })

t.test('a hundred clients that ask for a big sorted listing and leave at once cost the server almost nothing', async (t) => {
  const { child, port } = await startCommand(t, ['0', '-d', root, '-l', 'warn'])
  const pid = child.pid as number
  await rawRequest(port, '/small.txt')
  const before = { cpu: cpu(pid), rss: rss(pid), fds: fds(pid) }
  const attack = (async () => {
    await Promise.all(Array.from({ length: 100 }, async () => {
      const s = net.connect(port, '127.0.0.1')
      await once(s, 'connect')
      s.end('GET /many/?sort=size HTTP/1.1\r\nHost: x\r\n\r\n')
      s.destroy()
    }))
    await quiet(pid)
  })()
  const meanwhile = await smallFileWhile(port, attack)
  const used = cpu(pid) - before.cpu
  // each listing, made whole, costs ~0.12 s of CPU here: 100 of them, 12 s
  t.ok(used < 5, `CPU used: ${used.toFixed(2)} s`)
  servedMeanwhile(t, meanwhile)
  // the attacks' bound (idle + 96 MiB): +16 alone, +54 on Node 24 beside the rest of the suite,
  // whose load puts V8's collections off
  t.ok(rss(pid) < before.rss + 96, `RSS ${before.rss.toFixed(0)} -> ${rss(pid).toFixed(0)} MiB`)
  await waitFor('descriptors back', () => fds(pid) <= before.fds + 1)
})

t.test('forty clients reading a big sorted listing slowly hold a bounded amount of memory, returned when they go', async (t) => {
  const { child, port } = await startCommand(t, ['0', '-d', root, '-l', 'warn'])
  const pid = child.pid as number
  await rawRequest(port, '/small.txt')
  const before = { rss: rss(pid), fds: fds(pid) }
  let peak = before.rss
  // (before turns, each made its whole listing at once: +180 MiB for 20 of them)
  const sockets = await Promise.all(Array.from({ length: 40 }, async () => {
    const s = net.connect(port, '127.0.0.1')
    await once(s, 'connect')
    s.pause()
    s.write('GET /many/?sort=size HTTP/1.1\r\nHost: x\r\n\r\n')
    return s
  }))
  // the four that have a turn have made their listing and wait for their clients; the rest wait for a turn
  const meanwhile = await smallFileWhile(port, quiet(pid).then(() => { peak = Math.max(peak, rss(pid)) }))
  // the bound leaves room for V8's young generation, which Node 24 grows further than Node 20
  t.ok(peak < before.rss + 96, `RSS ${before.rss.toFixed(0)} -> ${peak.toFixed(0)} MiB while they read`)
  servedMeanwhile(t, meanwhile)
  for (const s of sockets) s.destroy()
  await waitFor('descriptors back', () => fds(pid) <= before.fds + 1)
  await quiet(pid)
  t.ok(rss(pid) < before.rss + 96, `RSS after they left: ${rss(pid).toFixed(0)} MiB`)
  const res = await rawRequest(port, '/many/?sort=size&limit=1&format=json')
  t.equal(res.statusCode, 200, 'and a listing is made again at once')
})

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('an HTTP/2 rapid reset of requests for a big sorted listing costs the server almost nothing', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const key = path.join(root, 'tls', 'key.pem')
  const cert = path.join(root, 'tls', 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  const { child, port } = await startCommand(t, ['0', '-d', root, '-l', 'warn', '--tls-cert', cert, '--tls-key', key, '--http2'])
  const pid = child.pid as number
  const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.destroy())
  session.on('error', () => {})
  await once(session, 'connect')
  const get = async (p: string): Promise<number> => {
    const stream = session.request({ ':path': p })
    stream.resume()
    const [headers] = await once(stream, 'response') as [http2.IncomingHttpHeaders]
    await once(stream, 'end')
    return Number(headers[':status'])
  }
  t.equal(await get('/small.txt'), 200)
  const before = { cpu: cpu(pid), fds: fds(pid) }
  for (let i = 0; i < 100; i++) {
    const stream = session.request({ ':path': '/many/?sort=size' })
    stream.on('error', () => {})
    stream.close(http2.constants.NGHTTP2_CANCEL)
  }
  await quiet(pid)
  const used = cpu(pid) - before.cpu
  t.ok(used < 5, `CPU used: ${used.toFixed(2)} s`)
  const began = Date.now()
  t.equal(await get('/small.txt'), 200)
  t.ok(Date.now() - began < PATIENCE)
  await waitFor('descriptors back', () => fds(pid) <= before.fds + 1)
})
