// On-the-fly compression is bounded: a few bodies at once in total and per client; the one beyond
// goes out as it is (identity, 200, its own tag), never waits or fails. Held here by clients that
// read nothing, over real sockets from several loopback addresses (127.0.0.2, .3, .4).
import t from 'tap'
import http from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { statSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import serveDir from '../../lib/serve-dir'
import { FileResponder } from '../../lib/serve-dir/file/responder'
import { ClientSlots } from '../../lib/serve-dir/slots'
import { serve, waitFor } from '../helper'

// base64 text: a compressible type whose coded form is still far more than the sockets' buffers
// hold (24 MiB of text, ~18 coded; loopback's sockets hold ~10), so that a client that reads
// nothing keeps its response (and its compressor) open
const big = randomBytes(18 * 1024 * 1024).toString('base64')

interface Held { res: http.IncomingMessage, req: http.ClientRequest }

/** A GET from `from` whose answer's head is read, and its body not (the caller destroys it). */
async function unread (port: number, from: string, url: string, headers: http.OutgoingHttpHeaders): Promise<Held> {
  return await new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, localAddress: from, agent: false, headers }, (res) => {
      res.pause()
      resolve({ res, req })
    })
    req.on('error', reject)
  })
}

t.test('n compressions held by clients that read nothing: the next goes out as it is, per client and in total', async (t) => {
  const root = t.testdir({ 'big.txt': big, 'small.txt': 'x'.repeat(4096) })
  const app = await serve(t, root, { compressSlots: 3, compressSlotsPerClient: 2 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const held: Held[] = []
  t.teardown(() => { for (const h of held) h.req.destroy() })
  const ask = async (from: string, coding = 'gzip'): Promise<Held> => {
    const h = await unread(port, from, '/big.txt', { 'accept-encoding': coding })
    held.push(h)
    return h
  }
  for (const coding of ['gzip', 'br']) {
    const h = await ask('127.0.0.2', coding)
    t.equal(h.res.statusCode, 200)
    t.equal(h.res.headers['content-encoding'], coding, `client A's ${coding} is compressed`)
  }
  const third = await ask('127.0.0.2')
  t.equal(third.res.statusCode, 200, 'the one over the client\'s share is answered')
  t.equal(third.res.headers['content-encoding'], undefined, '... as it is')
  t.equal(third.res.headers['content-length'], String(big.length))
  t.match(third.res.headers.vary, /Accept-Encoding/)
  t.notMatch(third.res.headers.etag, /-gzip"$/, 'under the identity\'s tag')
  const first = (await new Promise<Buffer>((resolve) => third.res.once('data', resolve).resume())).toString('latin1')
  t.ok(big.startsWith(first), 'the file\'s own bytes')

  t.equal((await ask('127.0.0.3')).res.headers['content-encoding'], 'gzip', 'another client has the last slot')
  t.equal((await ask('127.0.0.4')).res.headers['content-encoding'], undefined, 'none is left in total: as it is')
  const small = await app.inject({ url: '/small.txt', headers: { 'accept-encoding': 'gzip' } })
  t.equal(small.headers['content-encoding'], undefined, 'a small file too, until its compressed form is kept')
  t.equal(small.body, 'x'.repeat(4096))

  // a client that leaves gives its slot back
  held[0].req.destroy()
  await waitFor('a slot given back', async () => (await app.inject({
    method: 'HEAD', url: '/big.txt', headers: { 'accept-encoding': 'gzip' }
  })).headers['content-encoding'] === 'gzip')
  const coded = await app.inject({ url: '/small.txt', headers: { 'accept-encoding': 'gzip' } })
  t.equal(coded.headers['content-encoding'], 'gzip')
  t.equal(zlib.gunzipSync(coded.rawPayload).toString(), 'x'.repeat(4096))
})

t.test('listings: one that gets no slot goes out as it is, whole or streamed', async (t) => {
  const many: Record<string, string> = {}
  const few: Record<string, string> = {}
  for (let i = 0; i < 5001; i++) many[`f${i}.txt`] = ''
  for (let i = 0; i < 30; i++) few[`a-file-with-a-longish-name-${i}.txt`] = ''
  const root = t.testdir({ small: few, many })
  const none = await serve(t, root, { compressSlots: 0 })
  const some = await serve(t, root)
  for (const url of ['/small/', '/many/']) {
    const plain = await none.inject({ url, headers: { 'accept-encoding': 'gzip', accept: 'application/json' } })
    t.equal(plain.statusCode, 200)
    t.equal(plain.headers['content-encoding'], undefined, `${url}: no slot, as it is`)
    t.ok(JSON.parse(plain.body).entries.length > 0)
    const coded = await some.inject({ url, headers: { 'accept-encoding': 'gzip', accept: 'application/json' } })
    t.equal(coded.headers['content-encoding'], 'gzip', `${url}: a slot, compressed`)
    t.same(JSON.parse(zlib.gunzipSync(coded.rawPayload).toString()).entries.length, JSON.parse(plain.body).entries.length)
  }
  const etag = (await none.inject({ url: '/small/', headers: { 'accept-encoding': 'gzip' } })).headers.etag as string
  t.notMatch(etag, /-gzip"$/, 'a listing as it is has the identity\'s tag')
  t.equal((await none.inject({ url: '/small/', headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } })).statusCode, 304)
})

t.test('live reload\'s page: compressed with a slot, else as it is; a big one tagged only with a slot', async (t) => {
  const page = '<!doctype html><html><body>' + 'hello '.repeat(2000) + '</body></html>'
  const big = '<!doctype html><html><body>' + 'hello '.repeat(200_000) + '</body></html>'
  const root = t.testdir({ 'index.html': page, 'big.html': big })
  const slots = new ClientSlots(1, 1)
  const opts = { maxAge: 0, immutable: false, compress: true, precompressed: false, threshold: 1024, compressing: slots }
  const files = new FileResponder({ ...opts, cacheFileBytes: 1 << 20, cacheTotalBytes: 1 << 22, cacheEntries: 10, downloadHtml: false }, () => null)
  const app = Fastify()
  await files.install(app)
  const tag = Buffer.from('<script src="/live.js"></script>')
  // a page that takes no tag: sent as it is
  app.get('/:name', async (req, reply) => {
    const name = path.join(root, (req.params as { name: string }).name)
    return (await files.sendInjected(req, reply, name, statSync(name), tag)) ?? await reply.send('as it is')
  })
  t.teardown(() => app.close())
  const br = async (url: string): Promise<Awaited<ReturnType<typeof app.inject>>> => await app.inject({ url, headers: { 'accept-encoding': 'br' } })

  const held = slots.take('127.0.0.1') as () => void
  const plain = await br('/index.html')
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers['content-encoding'], undefined, 'no slot: the tagged page as it is')
  t.equal(plain.body, page.replace('</body>', tag.toString() + '</body>'))
  t.match(plain.headers.etag, /^"[\w-]+"$/)
  t.equal((await br('/big.html')).body, 'as it is', 'no slot: a page over 1 MiB goes out without the tag')
  held()
  const coded = await br('/index.html')
  t.equal(coded.headers['content-encoding'], 'br', 'a slot: compressed')
  t.equal(zlib.brotliDecompressSync(coded.rawPayload).toString(), plain.body)
  t.equal(coded.headers.etag, (plain.headers.etag as string).slice(0, -1) + '-br"')
  const bigCoded = await br('/big.html')
  t.equal(zlib.brotliDecompressSync(bigCoded.rawPayload).toString(), big.replace('</body>', tag.toString() + '</body>'), 'a slot: a big page tagged, compressed with the same slot')
  t.equal(typeof slots.take('127.0.0.1'), 'function', 'every slot given back once its response closed')

  writeFileSync(path.join(root, 'out.html'), '<html data-serve-dir-no-reload><body>hi</body></html>')
  for (let i = 0; i < 2; i++) t.equal((await app.inject('/out.html')).body, 'as it is', `opted out (${i})`)
})

t.test('live reload in the plugin: a page that gets no slot goes out tagged, as it is', async (t) => {
  const page = '<!doctype html><html><body>' + 'hello '.repeat(2000) + '</body></html>'
  const app = await serve(t, t.testdir({ 'index.html': page }), { liveReload: true, compressSlots: 0 })
  const res = await app.inject({ url: '/', headers: { 'sec-fetch-dest': 'document', 'accept-encoding': 'br' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-encoding'], undefined)
  t.match(res.body, /<script src="\/\.serve-dir\/live-[\w-]{12}\.js" defer="defer"><\/script><\/body>/)
  t.match(res.headers.vary, /Accept-Encoding/)
})

t.test('compression slots: given back once, counted per client', async (t) => {
  const slots = new ClientSlots(2, 1)
  const a = slots.take('a') as () => void
  t.equal(slots.take('a'), null, 'one per client')
  const b = slots.take('b') as () => void
  t.equal(slots.take('c'), null, 'two in total')
  a()
  a() // a second give-back must not free a slot someone else holds
  const c = slots.take('c') as () => void
  t.equal(slots.take('d'), null)
  b()
  c()
  t.equal(typeof slots.take('a'), 'function')
  t.equal(slots.heldBy('a'), 1)
  t.equal(slots.heldBy('nobody'), 0, 'a client holding none')

  const gone = (raw: object): FastifyReply => ({ raw }) as unknown as FastifyReply
  const req = { ip: '127.0.0.1' } as unknown as FastifyRequest
  t.equal(new ClientSlots(1, 1).holdFor(req, gone({ destroyed: true })), false, 'a client gone already takes none')
  t.equal(new ClientSlots(1, 1).holdFor(req, gone({ destroyed: false, stream: { destroyed: true } })), false, 'nor an HTTP/2 stream reset')
})

t.test('compression slots are whole numbers', async (t) => {
  for (const [name, value] of [['compressSlots', -1], ['compressSlotsPerClient', 1.5], ['compressSlots', '4']] as const) {
    const app = Fastify()
    await t.rejects(async () => await app.register(serveDir, { root: t.testdir({}), [name]: value }).ready(), { code: 'FST_SERVE_DIR_INVALID_OPTION' }, `${name}: ${JSON.stringify(value)}`)
  }
})
