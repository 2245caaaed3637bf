// The file path is @fastify/static's: reply.sendFile, with @fastify/send's HTTP, and our layers around it.
import t, { type Test } from 'tap'
import path from 'node:path'
import { statSync, symlinkSync } from 'node:fs'
import zlib from 'node:zlib'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import fastifyStatic from '@fastify/static'
import serveDir from '../../lib/serve-dir'
import { FileResponder, type FileOptions } from '../../lib/serve-dir/file/responder'
import { ClientSlots } from '../../lib/serve-dir/slots'
import { serve } from '../helper'

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100) // 4,500 compressible bytes
const tree = { 'a.txt': text, 'tiny.txt': 'hi', 'a.png': text, 'empty.txt': '', 'page.html': '<p>hi</p>'.repeat(200) }

/** Every request the cache may answer, and some it leaves to send, for every file of `tree`. */
function table (etags: Record<string, string>, dates: Record<string, string>): InjectOptions[] {
  const requests: InjectOptions[] = []
  for (const name of Object.keys(tree)) {
    const url = '/' + name
    for (const method of ['GET', 'HEAD'] as const) {
      for (const headers of [
        {},
        { 'accept-encoding': 'gzip' },
        { 'accept-encoding': 'br, gzip' },
        { 'accept-encoding': 'gzip;q=0, br;q=0' },
        { 'accept-encoding': 'identity' },
        { 'if-none-match': etags[name] },
        { 'if-none-match': '"other"' },
        { 'if-none-match': `"x", ${etags[name]}` },
        { 'if-none-match': etags[name], 'cache-control': 'no-cache' },
        { 'if-modified-since': dates[name] },
        { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
        { range: 'bytes=0-1' },
        { range: 'bytes=-3' },
        { range: 'bytes=2-' },
        { range: 'bytes=0-1,3-4' },
        { range: 'bytes=99999-' },
        { range: 'bytes=0-1', 'if-range': etags[name] },
        { range: 'bytes=0-1', 'if-range': '"old"' },
        { range: 'bytes=0-1', 'if-range': dates[name] },
        { range: 'bytes=0-1', 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' },
        { range: 'bytes=0-1', 'if-range': 'not a date' },
        { range: 'bytes=0-1', 'accept-encoding': 'gzip' }
      ]) requests.push({ method, url, headers })
    }
  }
  return requests
}

/** What a client sees of a response, but the date. */
function seen (res: Awaited<ReturnType<FastifyInstance['inject']>>): unknown {
  const { date, connection, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.rawPayload.toString('base64') }
}

async function sameAnswers (t: Test, cached: FastifyInstance, disk: FastifyInstance): Promise<void> {
  const etags: Record<string, string> = {}
  const dates: Record<string, string> = {}
  for (const name of Object.keys(tree)) {
    const res = await disk.inject('/' + name)
    etags[name] = res.headers.etag as string
    dates[name] = res.headers['last-modified'] as string
  }
  for (const req of table(etags, dates)) {
    const [a, b] = [await cached.inject(req), await disk.inject(req)]
    t.same(seen(a), seen(b), `${String(req.method)} ${String(req.url)} ${JSON.stringify(req.headers)}`)
  }
}

t.test('the small-file cache answers exactly what @fastify/send answers from disk', async (t) => {
  const root = t.testdir(tree)
  await sameAnswers(t, await serve(t, root), await serve(t, root, { cacheBytes: 0 }))

  // each request twice, so that the second's compressed form is the one kept
  const opts: FileOptions = { maxAge: 0, immutable: false, compress: true, precompressed: false, threshold: 1024, compressing: new ClientSlots(4, 4), cacheFileBytes: 1 << 20, cacheTotalBytes: 1 << 22, cacheEntries: 100, downloadHtml: true }
  const apps = await Promise.all([opts, { ...opts, cacheFileBytes: 0 }].map(async (o) => {
    const files = new FileResponder(o, () => null)
    const app = Fastify()
    await files.install(app)
    app.route({ method: ['GET', 'HEAD'], url: '/:name', handler: (req, reply) => files.send(req, reply, path.join(root, (req.params as { name: string }).name), statSync(path.join(root, (req.params as { name: string }).name))) })
    t.teardown(() => app.close())
    return app
  }))
  await sameAnswers(t, apps[0], apps[1])
  await sameAnswers(t, apps[0], apps[1])
})

t.test('a file larger than the cache, and a Range of it, are @fastify/send\'s stream through our descriptor', async (t) => {
  const size = 3 * 1024 * 1024
  const root = t.testdir({ 'big.bin': Buffer.alloc(size, 'x') })
  const app = Fastify()
  // a hook of the host runs before ours: it sees the payload send made, a read stream of our descriptor
  const streams: string[] = []
  app.addHook('onSend', async (_req, _reply, payload) => {
    const p = payload as { path?: unknown } | null
    if (typeof p?.path === 'string') streams.push(p.path)
    return payload
  })
  await app.register(serveDir, { root })
  t.teardown(() => app.close())
  const { mtime } = statSync(path.join(root, 'big.bin'))
  const whole = await app.inject('/big.bin')
  t.equal(whole.rawPayload.length, size)
  t.equal(whole.headers.etag, `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`, 'send\'s validator')
  const range = await app.inject({ url: '/big.bin', headers: { range: 'bytes=0-1023', 'if-range': whole.headers.etag as string } })
  t.equal(range.statusCode, 206)
  t.equal(range.headers['content-range'], `bytes 0-1023/${size}`)
  t.equal(range.rawPayload.length, 1024)
  t.equal(streams.length, 2)
  for (const p of streams) t.match(p, /^\/proc\/self\/fd\/\d+$/, 'send opened our verified descriptor')
})

t.test('a sidecar is found under our policies: one linked out of the root is not sent', async (t) => {
  const dir = t.testdir({ secret: { 'x.js.gz': zlib.gzipSync('secret') }, root: { 'app.js': text } })
  symlinkSync('../secret/x.js.gz', path.join(dir, 'root', 'app.js.gz'))
  const app = await serve(t, path.join(dir, 'root'), { compress: false })
  const res = await app.inject({ url: '/app.js', headers: { 'accept-encoding': 'gzip' } })
  t.equal(res.statusCode, 200)
  t.notOk(res.headers['content-encoding'], 'not the outside file')
  t.equal(res.body, text)
})

t.test('a coded variant revalidates with its own tag; the identity tag never validates it', async (t) => {
  const app = await serve(t, t.testdir({ 'a.txt': text }), { cacheBytes: 0 })
  const gz = await app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip' } })
  const plain = await app.inject('/a.txt')
  t.match(gz.headers.etag, /^W\/".+-gzip"$/)
  const ask = (inm: string): Promise<number> => app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip', 'if-none-match': inm } }).then((r) => r.statusCode)
  t.equal(await ask(gz.headers.etag as string), 304)
  t.equal(await ask(`"x", ${gz.headers.etag as string}`), 304, 'in a list')
  t.equal(await ask('*'), 304)
  t.equal(await ask(plain.headers.etag as string), 200, 'the identity tag')
  t.equal(await ask('"x"'), 200)
  t.equal(await ask('not a tag'), 200, 'no tag at all')
  t.equal((await app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip', 'if-match': '"x"' } })).statusCode, 412)
  t.equal((await app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip', 'if-match': gz.headers.etag as string } })).statusCode, 200)
})

t.test('beside a host that has its own @fastify/static', async (t) => {
  const dir = t.testdir({ site: { 'a.txt': 'ours' }, assets: { 'b.txt': 'theirs' } })
  for (const order of ['static first', 'serveDir first']) {
    const app = Fastify()
    const host = async (): Promise<void> => { await app.register(fastifyStatic, { root: path.join(dir, 'assets'), prefix: '/assets/' }) }
    if (order === 'static first') await host()
    await app.register(serveDir, { root: path.join(dir, 'site'), prefix: '/files' })
    if (order !== 'static first') await host()
    app.get('/hosted', (_req, reply) => reply.sendFile('b.txt'))
    t.teardown(() => app.close())
    t.equal((await app.inject('/files/a.txt')).body, 'ours', `${order}: ours`)
    t.equal((await app.inject('/assets/b.txt')).body, 'theirs', `${order}: theirs`)
    t.equal((await app.inject('/hosted')).body, 'theirs', `${order}: the host's reply.sendFile, rooted where it said`)
  }
})
