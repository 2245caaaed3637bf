// Live reload's event streams under load: how many the server and one client may hold (503 and
// 429 past them, a place freed when a stream closes), how much one stream may hold unsent (a
// reader that falls behind is owed one "everything changed", not every event), and how long one
// event may be. Clients are counted as ../client.ts counts them (tested with the login).
import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { PATIENCE, serve } from '../helper'
import { LiveReload, type MakeWatcher } from '../../lib/serve-dir/live/route'
import type { Change } from '../../lib/serve-dir/live/watch'

const SETTINGS = {
  ignore: [], debounceMs: 10, allowedHosts: [], maxFolders: 100, maxStreams: 100, maxStreamsPerClient: 10
}

interface Opened { status: number, headers: http.IncomingHttpHeaders, body: Promise<string>, close: () => void }

/** Opens the event stream from `localAddress`; resolves with the answer's head. */
async function open (t: Test, port: number, localAddress: string): Promise<Opened> {
  return await new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, localAddress, path: '/.serve-dir/live', agent: false, headers: { accept: 'application/json' } }
    const req = http.get(options, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      const body = new Promise<string>((resolve) => { res.once('close', () => { resolve(text) }) })
      resolve({ status: res.statusCode as number, headers: res.headers, body, close: () => { req.destroy() } })
    })
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
}

t.test('streams past the bounds: 503 past maxStreams, 429 per client; a closed stream frees its place', async (t) => {
  const root = t.testdir({ 'index.html': 'a' })
  const app = await serve(t, root, { liveReload: { maxStreams: 3, maxStreamsPerClient: 2 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const a = await open(t, port, '127.0.0.1')
  t.equal((await open(t, port, '127.0.0.1')).status, 200)
  const third = await open(t, port, '127.0.0.1')
  t.equal(third.status, 429, 'a third from one client')
  t.equal(third.headers['retry-after'], '10')
  t.match(JSON.parse(await third.body), { statusCode: 429, code: 'FST_SERVE_DIR_TOO_MANY_STREAMS', message: /at most 2/ })
  t.equal((await open(t, port, '127.0.0.2')).status, 200, 'another client has its own share')
  const busy = await open(t, port, '127.0.0.3')
  t.equal(busy.status, 503, 'a fourth in all')
  t.equal(busy.headers['retry-after'], '1')
  t.match(JSON.parse(await busy.body), { statusCode: 503, code: 'FST_SERVE_DIR_TOO_BUSY', message: /live reload streams/ })
  a.close()
  // the server hears of the close a moment after the client: asked again until it has
  const deadline = Date.now() + PATIENCE
  let again = await open(t, port, '127.0.0.1')
  while (again.status !== 200 && Date.now() < deadline) {
    await again.body
    again = await open(t, port, '127.0.0.1')
  }
  t.equal(again.status, 200, 'a closed stream gives its place back')
  t.equal((await app.inject('/index.html')).statusCode, 200, 'files are served meanwhile')
})

/** LiveReload on a bare Fastify, its watcher a stand-in: the test tells it what changed. */
async function liveWithoutWatcher (t: Test): Promise<{ port: number, tell: (c: Change) => void }> {
  let tell: (c: Change) => void = () => {}
  const makeWatcher: MakeWatcher = (_opts, onChange) => {
    tell = onChange
    return { start: async () => {}, close: async () => {} }
  }
  const quiet = (): void => {}
  const live = new LiveReload(SETTINGS, { realRoot: '/', symlinks: 'inside', showHidden: false }, [],
    { info: quiet, warn: quiet, error: quiet }, 0, 50, makeWatcher)
  await live.start()
  const app = Fastify()
  live.install(app, [])
  t.teardown(async () => { await live.close(); await app.close() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as AddressInfo).port, tell }
}

t.test('a stream read by no one holds a bounded backlog, then gets one "everything changed"', async (t) => {
  const { port, tell } = await liveWithoutWatcher(t)
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.write('GET /.serve-dir/live HTTP/1.1\r\nHost: localhost\r\n\r\n')
  let received = 0
  let text = ''
  const arrived = (match: RegExp): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (match.test(text)) resolve()
    }
    socket.on('data', check)
    socket.once('close', () => { reject(new Error(`closed before ${String(match)}`)) })
    check()
  })
  socket.on('data', (d: Buffer) => {
    received += d.length
    // the last few KiB are enough to find the events that matter
    text = (text + d.toString('latin1')).slice(-65536)
  })
  await arrived(/event: hello/)
  socket.pause()
  // 4,000 events of 10 KiB: 40 MiB that a reader that never reads would make the server hold
  const paths = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(95)}.html`)
  const events = 4000
  for (let i = 0; i < events; i++) tell({ paths, css: false })
  tell({ paths: ['last.html'], css: false })
  // either what is owed (bounded) or every event down to the last (unbounded)
  const caughtUp = arrived(/event: change\ndata: \{"css":false,"paths":\[\],"all":true\}\n\n|last\.html/)
  socket.resume()
  await caughtUp
  t.ok(received < events * 10_000 / 4, `${(received / 1048576).toFixed(1)} MiB reached the reader: what the sockets held, not every event`)
  t.notMatch(text, /last\.html/, 'what came while it could not keep up is in "everything changed"')
  tell({ paths: ['after.css'], css: true })
  await arrived(/\{"css":true,"paths":\["\/after\.css"\]\}/)
  t.pass('once caught up, it is told each change again')
})

t.test('an event longer than the bound, or a batch of too many paths, is one "everything changed"', async (t) => {
  const { port, tell } = await liveWithoutWatcher(t)
  const s = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/.serve-dir/live', agent: false }, resolve)
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
  let text = ''
  const changes = (): string[] => text.split('\n\n').filter((b) => b.startsWith('event: change')).map((b) => b.split('data: ')[1])
  const told = async (n: number): Promise<string[]> => await new Promise((resolve) => {
    const check = (): void => { if (changes().length >= n) resolve(changes()) }
    s.on('data', (d: Buffer) => { text += d.toString(); check() })
    check()
  })
  s.pause()
  const long = Array.from({ length: 200 }, (_, i) => `page-${i}-${'y'.repeat(100)}.html`)
  tell({ paths: long, css: false })
  tell({ paths: [], css: false, all: true })
  tell({ paths: ['a b.css'], css: true })
  s.resume()
  t.same((await told(3)).map((d) => JSON.parse(d)), [
    { css: false, paths: [], all: true },
    { css: false, paths: [], all: true },
    { css: true, paths: ['/a%20b.css'] }
  ])
})
