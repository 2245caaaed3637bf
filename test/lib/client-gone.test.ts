import t, { type Test } from 'tap'
import http from 'node:http'
import http2 from 'node:http2'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import serveDir from '../../lib/serve-dir'
import { answerInOrder } from '../../lib/server'
import { Walker } from '../../lib/serve-dir/archive/walk'
import { capture, waitFor } from '../helper'

const many: Record<string, string> = {}
for (let i = 0; i < 6000; i++) many[`f${i}.txt`] = String(i % 10)
const root = t.testdir({ many, 'a.txt': 'a', tls: {}, few: { 'x.txt': 'x', d: { 'y.txt': 'y' } } })

/** The plugin on a bare Fastify whose every request finds its client already gone when it reaches the route. */
async function goneBeforeTheRoute (t: Test, opts: { http2?: boolean } = {}): Promise<{ app: FastifyInstance, log: () => string }> {
  const log = capture()
  const tls = path.join(root, 'tls')
  if (opts.http2 === true) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(tls, 'key.pem'), '-out', path.join(tls, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  }
  // one type for both: the plugin and the hook below work the same over either
  const app = (opts.http2 === true
    ? Fastify({ http2: true, https: { key: readFileSync(path.join(tls, 'key.pem')), cert: readFileSync(path.join(tls, 'cert.pem')) }, logger: { level: 'debug', stream: log.stream } })
    : Fastify({ logger: { level: 'debug', stream: log.stream } })) as unknown as FastifyInstance
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/a.txt') return
    // the client leaves after sending its request, before the route has begun
    const raw = reply.raw as typeof reply.raw & { stream?: http2.ServerHttp2Stream }
    const closed = once(raw, 'close')
    if (raw.stream !== undefined) raw.stream.close(http2.constants.NGHTTP2_CANCEL)
    else req.raw.socket.destroy()
    await closed
  })
  await app.register(serveDir, { root })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, log: log.text }
}

t.test('a listing whose client left before it began is not made (HTTP/1.1)', async (t) => {
  const { app, log } = await goneBeforeTheRoute(t)
  const { port } = app.server.address() as AddressInfo
  const s = net.connect(port, '127.0.0.1')
  s.on('error', () => {})
  s.write('GET /many/?sort=size HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor('the route to see its client gone', () => log().includes('FST_SERVE_DIR_CLIENT_GONE'))
  t.notMatch(log(), '"statusCode":500', 'not an error of ours')
  t.equal((await fetch(`http://127.0.0.1:${port}/a.txt`)).status, 200, 'still serving')
})

t.test('a listing whose HTTP/2 stream was reset before it began is not made', async (t) => {
  const { app, log } = await goneBeforeTheRoute(t, { http2: true })
  const { port } = app.server.address() as AddressInfo
  const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.destroy())
  session.on('error', () => {})
  const stream = session.request({ ':path': '/many/?sort=size' })
  stream.on('error', () => {})
  await waitFor('the route to see its client gone', () => log().includes('FST_SERVE_DIR_CLIENT_GONE'))
  t.notMatch(log(), '"statusCode":500')
})

t.test('more big listings at once than there are turns and places in line: 503 with Retry-After', async (t) => {
  const app = Fastify()
  await app.register(serveDir, { root })
  t.teardown(() => app.close())
  const answers = await Promise.all(Array.from({ length: 40 }, async () => await app.inject({ url: '/many/?sort=size', headers: { accept: 'application/json' } })))
  const busy = answers.filter((a) => a.statusCode === 503)
  t.equal(answers.filter((a) => a.statusCode === 200).length, 36, 'four at work and 32 waiting are answered')
  t.equal(busy.length, 4)
  t.equal(busy[0].headers['retry-after'], '1')
  t.match(busy[0].json(), { code: 'FST_SERVE_DIR_TOO_BUSY', message: 'Too many big listings in progress; try again shortly' })
})

t.test('pipelined requests reach the route one at a time, in order; too many waiting close the connection', async (t) => {
  let active = 0
  let most = 0
  const server = http.createServer()
  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    active++
    most = Math.max(most, active)
    setTimeout(() => {
      active--
      res.end(req.url)
    }, 5)
  }
  server.on('request', answerInOrder(route as unknown as Parameters<typeof answerInOrder>[0], 3))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const { port } = server.address() as AddressInfo
  const send = async (n: number): Promise<string> => {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    await once(s, 'connect')
    let text = ''
    s.setEncoding('latin1').on('data', (d: string) => { text += d })
    s.write(Array.from({ length: n }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''))
    await waitFor(`${n} answers or a close`, () => (text.match(/HTTP\/1\.1 200/g) ?? []).length === n || s.destroyed || s.readableEnded)
    s.destroy()
    return text
  }
  const four = await send(4)
  t.same([...four.matchAll(/\r\n\r\n(\/\d)/g)].map((m) => m[1]), ['/0', '/1', '/2', '/3'], 'every answer, in order')
  t.equal(most, 1, 'one at a time')
  const five = await send(5)
  t.notMatch(five, 'HTTP/1.1 200 OK\r\n[^]*/4', 'four waiting behind one: the connection is closed')
})

t.test('more folder downloads at once than there are turns and places in line: 503 with Retry-After', async (t) => {
  const app = Fastify()
  await app.register(serveDir, { root })
  t.teardown(() => app.close())
  const answers = await Promise.all(Array.from({ length: 12 }, async () => await app.inject('/few/?download=tar.gz')))
  t.equal(answers.filter((a) => a.statusCode === 200).length, 10, 'two at work and eight waiting are answered')
  const busy = answers.filter((a) => a.statusCode === 503)
  t.equal(busy.length, 2)
  t.equal(busy[0].headers['retry-after'], '1')
  t.match(busy[0].body, 'Too many folder downloads in progress')
  t.equal((await app.inject('/few/?download=zip')).statusCode, 200, 'turns given back')
})

t.test('an archive walks the folder as it is written, not ahead of it', async (t) => {
  const dir = t.testdir({ a: { 'x.txt': 'x' }, b: { 'y.txt': 'y' } })
  const walker = new Walker(dir, 'inside', false)
  const walk = walker.items(dir, statSync(dir), { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 64 })
  t.match((await walk.next()).value, { rel: 'a/' })
  // a folder gone before the walk reaches it is not in the archive: nothing was read ahead
  rmSync(path.join(dir, 'b'), { recursive: true })
  const rest: string[] = []
  for await (const item of walk) rest.push(item.rel)
  t.same(rest, ['a/x.txt'])
  // and one that grows past the limits after it was counted fails the walk
  const counted = await walker.count(dir, statSync(dir), { maxBytes: 1e9, maxEntries: 2, maxDepth: 64 })
  t.same(counted, { entries: 2, bytes: 1 })
  writeFileSync(path.join(dir, 'a', 'z.txt'), 'zz')
  await t.rejects(async () => { for await (const item of walker.items(dir, statSync(dir), { maxBytes: 1e9, maxEntries: 2, maxDepth: 64 })) t.ok(item) }, { message: /more entries than one archive may/ })
  await t.rejects(async () => { for await (const item of walker.items(dir, statSync(dir), { maxBytes: 2, maxEntries: 10, maxDepth: 64 })) t.ok(item) }, { message: /more bytes than one archive may/ })
  // any other failure is the caller's to answer (403 for EACCES, from the error handler)
  await t.rejects(walker.count(path.join(dir, 'gone'), statSync(dir), { maxBytes: 1e9, maxEntries: 10, maxDepth: 64 }), { code: 'ENOENT' })
})
