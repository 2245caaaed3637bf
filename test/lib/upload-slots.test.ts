// What slow or many uploads may hold: slots in total and per client address, one descriptor (the
// connection) until the first body byte, a minimum rate, and how deep an upload may make folders.
// Raw sockets from several loopback addresses (127.0.0.2, .3: other clients to the server).
import t, { type Test } from 'tap'
import path from 'node:path'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import http2 from 'node:http2'
import { existsSync, readdirSync, readlinkSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import serveDir, { type UploadOptions } from '../../lib/serve-dir'
import { allowLongUploads } from '../../lib/server'
import { captureLogs, waitFor } from '../helper'
import * as actual from '../../lib/serve-dir/upload/store'

const fds = (): number => readdirSync('/proc/self/fd').length

/** Descriptors this process holds open on `dir` and what is in it. */
function fdsIn (dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)
    } catch {
      // closed since the list was read
      return false
    }
  }).length
}

/** Temporary upload files under `dir` (its top level). */
const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.serve-dir-upload-'))

async function listening (t: Test, root: string, uploads: UploadOptions, logs?: ReturnType<typeof captureLogs>): Promise<{ app: FastifyInstance, port: number }> {
  const app = Fastify(logs === undefined ? {} : { logger: { level: 'warn', stream: logs.stream } })
  await app.register(serveDir, { root, uploads })
  allowLongUploads(app.server)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

/** A raw upload from `from`: its head sent (and `body`), then held; `text()` is what came back. */
async function upload (t: Test, port: number, from: string, head: string, body = ''): Promise<{ socket: net.Socket, text: () => string, closed: Promise<unknown> }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
  t.teardown(() => { socket.destroy() })
  let text = ''
  socket.on('data', (c) => { text += c.toString('latin1') })
  socket.on('error', () => {})
  const closed = new Promise((resolve) => socket.once('close', resolve))
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(head + '\r\n\r\n' + body)
  return { socket, text: () => text, closed }
}

const put = (name: string, length = 100, extra = ''): string => `PUT /${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Length: ${length}${extra}`

t.test('slots: a client past its own is a 429, anyone past the total a 503, both with Retry-After; a slot ends with its upload', async (t) => {
  const root = t.testdir({})
  const { port } = await listening(t, root, { maxConcurrent: 3, maxPerClient: 2 })
  // three slow uploads under way: two from one client, one from another
  const held = [
    await upload(t, port, '127.0.0.1', put('a.bin'), 'x'),
    await upload(t, port, '127.0.0.1', put('b.bin'), 'x'),
    await upload(t, port, '127.0.0.2', put('c.bin'), 'x')
  ]
  await waitFor('three uploads writing', () => temps(root).length === 3)
  const mine = await upload(t, port, '127.0.0.1', put('d.bin'), 'x')
  await mine.closed
  t.match(mine.text(), /^HTTP\/1\.1 429 /, 'the client holding its two: 429')
  t.match(mine.text(), /\r\nretry-after: 1\r\n/i)
  t.match(mine.text(), /\r\nconnection: close\r\n/i, 'its body is never read')
  t.match(mine.text(), /"code":"FST_SERVE_DIR_TOO_MANY_UPLOADS".*Too many uploads from your address at once \(2\)/)
  const other = await upload(t, port, '127.0.0.3', put('e.bin'), 'x')
  await other.closed
  t.match(other.text(), /^HTTP\/1\.1 503 /, 'a new client while three are under way: 503')
  t.match(other.text(), /\r\nretry-after: 1\r\n/i)
  t.match(other.text(), /Too many uploads in progress/)
  t.same(temps(root).length, 3, 'refused before anything was written')
  // one ends (its client gone): its slot is free again, for anyone
  held[0].socket.destroy()
  await waitFor('its temporary file removed', () => temps(root).length === 2)
  const next = await upload(t, port, '127.0.0.3', put('f.txt', 2, '\r\nConnection: close'), 'ok')
  await next.closed
  t.match(next.text(), /^HTTP\/1\.1 201 /, 'then one more goes through')
  t.ok(existsSync(path.join(root, 'f.txt')))
})

t.test('a waiting upload holds its connection only: no folder, no file before its first byte', async (t) => {
  const root = t.testdir({ inbox: {} })
  const { port } = await listening(t, root, { maxConcurrent: 8, maxPerClient: 8 })
  // 100 Continue is said once the upload is checked, and it then waits for the body
  const waiting = await Promise.all(Array.from({ length: 4 }, async (_, i) =>
    await upload(t, port, '127.0.0.1', put(`inbox/w${i}.bin`, 10, '\r\nExpect: 100-continue'))))
  await waitFor('four 100 Continue', () => waiting.every((u) => u.text().startsWith('HTTP/1.1 100 Continue')))
  t.equal(fdsIn(root), 0, 'nothing open in the folder: only the connections')
  t.same(readdirSync(path.join(root, 'inbox')), [], 'no temporary file yet')
  for (const u of waiting) u.socket.write('x')
  await waitFor('four temporary files', () => temps(path.join(root, 'inbox')).length === 4)
  t.equal(fdsIn(root), 8, 'then a folder and a file each')
  for (const u of waiting) u.socket.destroy()
  await waitFor('every temporary file removed', () => temps(path.join(root, 'inbox')).length === 0)
  await waitFor('no descriptor left in the folder', () => fdsIn(root) === 0)
})

t.test('many slow uploads hold a bounded number of descriptors, and everyone else is served', async (t) => {
  const root = t.testdir({ 'small.txt': 'small' })
  const { port } = await listening(t, root, { maxConcurrent: 8, maxPerClient: 4 })
  const before = fds()
  // 40 uploads of one byte each, from four clients: a trickle that never ends
  const all = await Promise.all(Array.from({ length: 40 }, async (_, i) =>
    await upload(t, port, `127.0.0.${1 + (i % 4)}`, put(`slow-${i}.bin`), 'x')))
  const refused = (): number => all.filter((u) => /^HTTP\/1\.1 (429|503) /.test(u.text())).length
  await waitFor('each refused or writing', () => refused() + temps(root).length === 40)
  t.equal(temps(root).length, 8, 'eight under way')
  t.equal(refused(), 32, 'the rest refused')
  // refused ones are closed; eight connections (two ends each), a folder and a file each
  await waitFor('the refused connections closed', () => fds() <= before + 8 * 4)
  const res = await fetch(`http://127.0.0.1:${port}/small.txt`)
  t.equal(await res.text(), 'small', 'another client is served')
  for (const u of all) u.socket.destroy()
  await waitFor('every temporary file removed', () => temps(root).length === 0)
})

t.test('a trickling upload is cut with a 408 once it falls below minRate, and leaves nothing', async (t) => {
  const root = t.testdir({})
  const logs = captureLogs()
  const { port } = await listening(t, root, { idleTimeout: 400, minRate: 100 }, logs)
  const u = await upload(t, port, '127.0.0.1', put('trickle.bin', 200, '\r\nConnection: close'))
  // a byte every 20 ms: never idle for 400 ms, but 50 bytes a second; bounded, then the rest at once
  for (let i = 0; i < 150 && !u.socket.destroyed && u.text() === ''; i++) {
    u.socket.write('x')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  if (!u.socket.destroyed) u.socket.write('x'.repeat(50))
  await u.closed
  t.match(u.text(), /^HTTP\/1\.1 408 /, 'cut')
  t.match(u.text(), /less than 100 bytes a second/)
  t.same(readdirSync(root), [], 'no file, no temporary file')
  t.ok(logs.lines.some((l) => l.code === 'FST_SERVE_DIR_UPLOAD_TOO_SLOW' && l.upload === '/trickle.bin'), 'a log line says so')
})

t.test('depth: an upload may not make folders deeper than maxDepth (403), its folders are not made', async (t) => {
  const root = t.testdir({})
  const { app } = await listening(t, root, { maxDepth: 3 })
  const deep = await app.inject({ method: 'PUT', url: '/a/b/c/d/x.txt', payload: 'x', headers: { accept: 'application/json' } })
  t.equal(deep.statusCode, 403)
  t.match(deep.json().message, 'more than 3 folders deep')
  const form = await app.inject({ method: 'POST', url: '/a/b/c/d/', payload: '', headers: { 'content-type': 'multipart/form-data; boundary=x' } })
  t.equal(form.statusCode, 403, 'a form too')
  t.same(readdirSync(root), [], 'no folder made')
  t.equal((await app.inject({ method: 'PUT', url: '/a/b/c/x.txt', payload: 'x' })).statusCode, 201, 'three deep is fine')
  // the default: 32
  const other = t.testdir({})
  const { app: byDefault } = await listening(t, other, {})
  const folders = (n: number): string => '/' + Array(n).fill('d').join('/') + '/x.txt'
  t.equal((await byDefault.inject({ method: 'PUT', url: folders(33), payload: 'x' })).statusCode, 403)
  t.equal((await byDefault.inject({ method: 'PUT', url: folders(32), payload: 'x' })).statusCode, 201)
})

t.test('bad upload bounds fail ready() with a named error', async (t) => {
  const root = t.testdir({})
  for (const bad of [{ maxConcurrent: 0 }, { maxPerClient: 0 }, { minRate: -1 }, { maxDepth: 1.5 }, { idleTimeout: 0 }]) {
    const app = Fastify()
    app.register(serveDir, { root, uploads: bad })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION' }, JSON.stringify(bad))
  }
})

t.test('an HTTP/2 upload reset while its file is stored gives back its slot and its folder', async (t) => {
  type Store = typeof actual
  const signals = { stored: () => {}, reset: Promise.resolve() }
  const storing = new Promise<void>((resolve) => { signals.stored = resolve })
  // the file is stored; then the store waits until the client has reset its stream (deterministic)
  const mocked: Store = {
    ...actual,
    store: async (...args: Parameters<Store['store']>) => {
      const saved = await actual.store(...args)
      signals.stored()
      await signals.reset
      return saved
    }
  }
  const { default: plugin } = t.mockRequire<{ default: typeof serveDir }>('../../lib/serve-dir', {
    '../../lib/serve-dir/upload/store': mocked
  })
  const root = t.testdir({ up: {} })
  const app = Fastify({ http2: true })
  await app.register(plugin, { root, uploads: { paths: ['/up'], maxPerClient: 1 } })
  t.teardown(() => app.close())
  signals.reset = new Promise((resolve) => {
    app.server.on('stream', (stream: http2.ServerHttp2Stream) => { stream.once('close', resolve) })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const session = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => session.destroy())
  const first = session.request({ ':method': 'PUT', ':path': '/up/a.txt', 'content-length': '5' })
  first.on('error', () => {})
  first.end('hello')
  await storing
  first.close(http2.constants.NGHTTP2_CANCEL)
  // before: the slot stayed taken for good (every later upload of this client a 429) and the folder open
  await waitFor('the folder to be closed', () => fdsIn(path.join(root, 'up')) === 0)
  const second = session.request({ ':method': 'PUT', ':path': '/up/b.txt', 'content-length': '5' })
  second.end('world')
  const [headers] = await once(second, 'response') as [Record<string, unknown>]
  second.resume()
  t.equal(headers[':status'], 201, 'the same client may upload again')
})
