import t, { type Test } from 'tap'
import path from 'node:path'
import zlib from 'node:zlib'
import { execFileSync, spawn } from 'node:child_process'
import { appendFileSync, linkSync, mkdirSync, readdirSync, statSync, truncateSync, utimesSync, writeFileSync, type Stats } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import Fastify, { type FastifyInstance } from 'fastify'
import serveDir from '../../lib/serve-dir'
import { FileResponder } from '../../lib/serve-dir/file/responder'
import { errorHandler } from '../../lib/serve-dir/error-page'
import { ClientSlots } from '../../lib/serve-dir/slots'
import { serve, setup, waitFor } from '../helper'

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100) // 4,500 compressible bytes
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefghij') // above the 1 MiB in-memory limit

t.test('ETags are @fastify/send\'s: weak, of size and modification time, the same across restarts', async (t) => {
  const root = t.testdir({ 'a.txt': 'one' })
  const first = await serve(t, root)
  const again = Fastify()
  await again.register(serveDir, { root })
  t.teardown(() => again.close())
  const file = path.join(root, 'a.txt')
  const res = await first.inject('/a.txt')
  const { size, mtime } = statSync(file)
  t.equal(res.headers.etag, `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`, 'send\'s tag')
  t.equal(res.headers['last-modified'], mtime.toUTCString())
  t.equal((await again.inject('/a.txt')).headers.etag, res.headers.etag, 'a second server, same tag')

  // same size, same mtime: the tag (send's) stays, but the bytes served are the new ones
  const { atime, ctimeMs } = statSync(file)
  // the change time comes from the kernel's clock, which may still show the creation's tick (a
  // few ms on kernels without fine-grained timestamps): rewrite until it has moved on
  await waitFor('a new change time', () => {
    writeFileSync(file, 'two')
    utimesSync(file, atime, mtime)
    return statSync(file).ctimeMs !== ctimeMs
  })
  t.equal((await first.inject('/a.txt')).body, 'two', 'the cache sees the change time')
  writeFileSync(file, 'three')
  t.not((await first.inject('/a.txt')).headers.etag, res.headers.etag, 'a new size or time: a new tag')
})

t.test('conditional requests', async (t) => {
  const app = await setup(t, { 'a.txt': 'hello' })
  const res = await app.inject('/a.txt')
  const { etag, 'last-modified': lastModified } = res.headers as Record<string, string>
  t.equal(res.headers['cache-control'], 'no-cache', 'a dev server always revalidates')

  const notModified = await app.inject({ url: '/a.txt', headers: { 'if-none-match': etag } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  t.equal(notModified.headers.etag, etag)
  t.equal(notModified.headers['cache-control'], 'no-cache')
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-none-match': `"other", ${etag}` } })).statusCode, 304)
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-modified-since': lastModified } })).statusCode, 304)
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-none-match': '"other"', 'if-modified-since': lastModified } })).statusCode, 200, 'If-None-Match wins')
  t.equal((await app.inject({ method: 'HEAD', url: '/a.txt', headers: { 'if-none-match': etag } })).statusCode, 304)

  const failed = await app.inject({ url: '/a.txt', headers: { 'if-match': '"other"', accept: 'application/json' } })
  t.equal(failed.statusCode, 412)
  t.equal(failed.json().statusCode, 412)
  t.notOk(failed.headers.etag)
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-match': etag } })).statusCode, 200)
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).statusCode, 412)
})

t.test('maxAge and immutable', async (t) => {
  const app = await setup(t, { 'a.css': 'a{}', d: {} }, { maxAge: 3600, immutable: true })
  t.equal((await app.inject('/a.css')).headers['cache-control'], 'public, max-age=3600, immutable')
  t.equal((await app.inject('/d/')).headers['cache-control'], 'no-cache', 'listings always revalidate')
})

t.test('ranges are @fastify/send\'s: one range is 206, several are the whole file', async (t) => {
  const small = Buffer.from('0123456789abcdefghij')
  const app = await setup(t, { 'small.txt': small, 'big.bin': big, 'empty.txt': '' })
  for (const [name, content] of [['small.txt', small], ['big.bin', big]] as const) {
    const url = '/' + name
    const size = content.length
    const full = await app.inject(url)
    t.equal(full.headers['accept-ranges'], 'bytes')
    t.equal(full.rawPayload.length, size, `${name}: whole`)
    t.ok(full.rawPayload.equals(content), `${name}: exact bytes`)

    for (const [range, start, end] of [['bytes=0-9', 0, 9], ['bytes=5-', 5, size - 1], ['bytes=-7', size - 7, size - 1], ['bytes=3-3', 3, 3]] as const) {
      const res = await app.inject({ url, headers: { range } })
      t.equal(res.statusCode, 206, `${name} ${range}`)
      t.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`)
      t.equal(res.headers['content-length'], String(end - start + 1))
      t.ok(res.rawPayload.equals(content.subarray(start, end + 1)), `${name} ${range}: bytes`)
      const head = await app.inject({ method: 'HEAD', url, headers: { range } })
      t.equal(head.statusCode, 206)
      t.equal(head.headers['content-range'], res.headers['content-range'])
      t.equal(head.headers['content-length'], res.headers['content-length'])
      t.equal(head.body, '')
    }

    // send answers one range; for several it sends the whole file (a 200 is always a valid answer)
    const multi = await app.inject({ url, headers: { range: 'bytes=0-1,5-6,-2' } })
    t.equal(multi.statusCode, 200, `${name}: several ranges, the whole file`)
    t.ok(multi.rawPayload.equals(content))

    const unsatisfiable = await app.inject({ url, headers: { range: `bytes=${size}-` } })
    t.equal(unsatisfiable.statusCode, 416)
    t.equal(unsatisfiable.headers['content-range'], `bytes */${size}`)
    t.equal((await app.inject({ url, headers: { range: 'bytes=9-2' } })).statusCode, 416, 'a reversed range: send says 416')
    t.equal((await app.inject({ url, headers: { range: 'bytes=abc' } })).statusCode, 416, 'not a range at all: send says 416 too')
    t.equal((await app.inject({ url, headers: { range: 'items=0-1' } })).statusCode, 200, 'another unit: ignored')
    t.equal((await app.inject({ url, headers: { range: `bytes=-${size + 1}` } })).statusCode, 416, 'a suffix longer than the file: send says 416')

    const { etag, 'last-modified': lastModified } = full.headers as Record<string, string>
    t.equal((await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': etag } })).statusCode, 206, 'If-Range with the tag')
    t.equal((await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': '"old"' } })).statusCode, 200, 'If-Range with an old tag: everything')
    t.equal((await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': lastModified } })).statusCode, 206, 'If-Range with the date')
    t.equal((await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).statusCode, 200)
  }
  const empty = await app.inject({ url: '/empty.txt', headers: { range: 'bytes=0-' } })
  t.equal(empty.statusCode, 416, 'an empty file has no bytes to range over: send says 416')
  t.equal(empty.headers['content-range'], 'bytes */0')
})

t.test('compression on the fly', async (t) => {
  const app = await setup(t, { 'a.txt': text, 'tiny.txt': 'hi', 'a.bin': text, 'a.png': text, 'big.txt': big })
  const identity = await app.inject('/a.txt')
  t.equal(identity.headers.vary, 'Accept-Encoding')
  t.notOk(identity.headers['content-encoding'])
  for (const [coding, decode] of [['br', zlib.brotliDecompressSync], ['gzip', zlib.gunzipSync]] as const) {
    const res = await app.inject({ url: '/a.txt', headers: { 'accept-encoding': coding } })
    t.equal(res.headers['content-encoding'], coding)
    t.equal(res.headers.vary, 'Accept-Encoding')
    t.equal(Number(res.headers['content-length']), res.rawPayload.length)
    t.ok(res.rawPayload.length < text.length / 4, `${coding} is smaller`)
    t.equal(decode(res.rawPayload).toString(), text)
    t.not(res.headers.etag, identity.headers.etag, `${coding} has its own tag`)
    t.equal((await app.inject({ url: '/a.txt', headers: { 'accept-encoding': coding, 'if-none-match': res.headers.etag } })).statusCode, 304)
    t.equal((await app.inject({ url: '/a.txt', headers: { 'if-none-match': res.headers.etag } })).statusCode, 200, 'the coded tag does not validate identity')
    const head = await app.inject({ method: 'HEAD', url: '/a.txt', headers: { 'accept-encoding': coding } })
    t.equal(head.headers['content-length'], res.headers['content-length'])

    const streamed = await app.inject({ url: '/big.txt', headers: { 'accept-encoding': coding } })
    t.equal(streamed.headers['content-encoding'], coding)
    t.notOk(streamed.headers['content-length'], 'a big file is compressed as it streams')
    t.ok(decode(streamed.rawPayload).equals(big), `${coding}: big file round-trips`)
    const streamedHead = await app.inject({ method: 'HEAD', url: '/big.txt', headers: { 'accept-encoding': coding } })
    t.equal(streamedHead.headers['content-encoding'], coding)
    t.notOk(streamedHead.headers['content-length'], 'HEAD says what GET would')
  }
  t.equal((await app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'br', range: 'bytes=0-9' } })).headers['content-encoding'], undefined, 'never a range of a compressed body')
  t.notOk((await app.inject({ url: '/tiny.txt', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'below the threshold')
  t.notOk((await app.inject({ url: '/a.bin', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'unknown binary')
  t.notOk((await app.inject({ url: '/a.png', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'already compressed')

  const off = await setup(t, { 'a.txt': text }, { compress: false, precompressed: false })
  const plain = await off.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip' } })
  t.notOk(plain.headers['content-encoding'])
  t.notOk(plain.headers.vary)
})

t.test('precompressed sidecars', async (t) => {
  const br = zlib.brotliCompressSync(text)
  const gz = zlib.gzipSync(text)
  const app = await setup(t, { 'app.js': text, 'app.js.br': br, 'app.js.gz': gz, 'only.css': text, 'only.css.gz': gz }, { compress: false })
  const res = await app.inject({ url: '/app.js', headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(res.headers['content-encoding'], 'br')
  t.equal(res.headers['content-type'], 'text/javascript; charset=utf-8', 'the type of the original')
  t.ok(res.rawPayload.equals(br), 'the sidecar\'s own bytes')
  t.equal(res.headers.vary, 'Accept-Encoding')
  t.equal((await app.inject({ url: '/app.js', headers: { 'accept-encoding': 'br', 'if-none-match': res.headers.etag } })).statusCode, 304)
  const head = await app.inject({ method: 'HEAD', url: '/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(head.headers['content-length'], String(br.length))
  t.ok((await app.inject({ url: '/app.js', headers: { 'accept-encoding': 'gzip' } })).rawPayload.equals(gz))
  const fallback = await app.inject({ url: '/only.css', headers: { 'accept-encoding': 'br, gzip' } })
  t.equal(fallback.headers['content-encoding'], 'gzip', 'no .br: the .gz')
  t.equal((await app.inject('/app.js')).body, text, 'identity for clients that do not ask')
})

t.test('the caches never serve stale data', async (t) => {
  const root = t.testdir({ 'a.txt': 'v1', 'big.bin': big, d: { 'x.txt': 'x', sub: { 'y.txt': 'y' } } })
  const app = Fastify()
  await app.register(serveDir, { root })
  t.teardown(() => app.close())
  const json = { accept: 'application/json' }
  const names = async (url: string): Promise<string[]> =>
    (await app.inject({ url, headers: json })).json().entries.map((e: { name: string, size: number | null }) => `${e.name}:${e.size}`)

  for (let round = 0; round < 3; round++) {
    t.equal((await app.inject('/a.txt')).body, round === 0 ? 'v1' : `v${round}`)
    writeFileSync(path.join(root, 'a.txt'), `v${round + 1}`)
    t.equal((await app.inject('/a.txt')).body, `v${round + 1}`, `modified, round ${round}`)
  }
  t.same(await names('/d/'), ['sub:null', 'x.txt:1'])
  await names('/d/') // now kept
  writeFileSync(path.join(root, 'd', 'x.txt'), 'xxx')
  t.same(await names('/d/'), ['sub:null', 'x.txt:3'], 'a file\'s new size is listed at once')
  writeFileSync(path.join(root, 'd', 'new.txt'), 'n')
  t.same(await names('/d/'), ['new.txt:1', 'sub:null', 'x.txt:3'], 'created')
  execFileSync('mv', [path.join(root, 'd', 'new.txt'), path.join(root, 'd', 'renamed.txt')])
  t.same(await names('/d/'), ['renamed.txt:1', 'sub:null', 'x.txt:3'], 'renamed')
  t.equal((await app.inject('/d/new.txt')).statusCode, 404)
  t.equal((await app.inject('/d/renamed.txt')).body, 'n')
  execFileSync('rm', [path.join(root, 'd', 'x.txt')])
  t.same(await names('/d/'), ['renamed.txt:1', 'sub:null'], 'deleted')
  t.equal((await app.inject('/d/x.txt')).statusCode, 404)
  // an old modification time for sub/, so that the write below surely changes it (by years, not
  // by however many milliseconds have passed)
  utimesSync(path.join(root, 'd', 'sub'), new Date('2020-01-01'), new Date('2020-01-01'))
  const before = (await app.inject({ url: '/d/', headers: json })).json().entries.find((e: { name: string }) => e.name === 'sub').mtime
  t.equal(before, '2020-01-01T00:00:00.000Z', 'the listing shows the folder\'s time')
  writeFileSync(path.join(root, 'd', 'sub', 'z.txt'), 'z')
  const after = (await app.inject({ url: '/d/', headers: json })).json().entries.find((e: { name: string }) => e.name === 'sub').mtime
  t.not(after, before, 'a change inside a sub-folder shows in its modification time')

  // the HTML form is kept too, and follows the same changes
  t.match((await app.inject('/d/')).body, 'renamed.txt')
  writeFileSync(path.join(root, 'd', 'html.txt'), 'h')
  t.match((await app.inject('/d/')).body, 'html.txt')

  // a file with a second (hard) link elsewhere changes without an event in its folder
  mkdirSync(path.join(root, 'h'))
  writeFileSync(path.join(root, 'elsewhere.txt'), 'abc')
  linkSync(path.join(root, 'elsewhere.txt'), path.join(root, 'h', 'linked.txt'))
  t.same(await names('/h/'), ['linked.txt:3'])
  t.same(await names('/h/'), ['linked.txt:3'])
  appendFileSync(path.join(root, 'elsewhere.txt'), 'def')
  t.same(await names('/h/'), ['linked.txt:6'], 'a write through another hard link shows at once')

  const bigEtag = (await app.inject('/big.bin')).headers.etag
  writeFileSync(path.join(root, 'big.bin'), Buffer.concat([big, Buffer.from('!')]))
  const bigAgain = await app.inject('/big.bin')
  t.equal(bigAgain.rawPayload.length, big.length + 1)
  t.not(bigAgain.headers.etag, bigEtag)
})

t.test('bytes are never kept: a write through a mapping that sets no new time shows', async (t) => {
  // A writer maps the file and writes through the mapping twice. The first write marks the page
  // dirty and sets the file's times; the second, to the same dirty page, changes the bytes and
  // sets nothing: the version stays the one the first left. Bytes kept after the first would be
  // served for good (file-cache.test.ts: also long after the first). (The same as a single slow
  // write, which sets the times when it starts.)
  const root = t.testdir({ 'm.txt': 'a'.repeat(8192) })
  const app = await serve(t, root)
  const writer = spawn('python3', ['-c', [
    'import mmap, sys',
    'f = open(sys.argv[1], "r+b"); m = mmap.mmap(f.fileno(), 0)',
    'm[0:8] = b"11111111"; print("one", flush=True); sys.stdin.readline()',
    'm[0:8] = b"22222222"; print("two", flush=True); sys.stdin.readline()'
  ].join('\n'), path.join(root, 'm.txt')], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { writer.kill() })
  const lines = writer.stdout.setEncoding('utf8')
  const next = async (): Promise<string> => String((await once(lines, 'data'))[0]).trim()
  t.equal(await next(), 'one')
  const version = statSync(path.join(root, 'm.txt'))
  t.equal((await app.inject('/m.txt')).body.slice(0, 8), '11111111')
  writer.stdin.write('\n')
  t.equal(await next(), 'two')
  // the kernel sets a new time when it wrote the page back in between (a loaded machine did)
  if (statSync(path.join(root, 'm.txt')).mtimeMs !== version.mtimeMs) t.comment('the page was written back in between: a new time this run')
  t.equal((await app.inject('/m.txt')).body.slice(0, 8), '22222222', 'the new bytes, not kept old ones')
  writer.stdin.end('\n')
})

t.test('listing validators', async (t) => {
  const many: Record<string, string> = {}
  for (let i = 0; i < 20; i++) many[`file-with-a-longish-name-${i}.txt`] = 'x'
  const root = t.testdir({ d: { 'a.txt': 'a', ...many } })
  const app = await serve(t, root)
  const res = await app.inject('/d/')
  t.match(res.headers.etag, /^"[\w-]+"$/)
  t.equal((await app.inject({ url: '/d/', headers: { 'if-none-match': res.headers.etag } })).statusCode, 304)
  t.equal((await app.inject({ url: '/d/', headers: { 'if-match': '"stale"' } })).statusCode, 200, 'a listing is read, never written: If-Match is not checked')
  const json = await app.inject({ url: '/d/', headers: { accept: 'application/json' } })
  t.not(json.headers.etag, res.headers.etag, 'each format has its own tag')
  writeFileSync(path.join(root, 'd', 'b.txt'), 'b')
  t.equal((await app.inject({ url: '/d/', headers: { 'if-none-match': res.headers.etag } })).statusCode, 200, 'a changed folder is not 304')
  const gz = await app.inject({ url: '/d/', headers: { 'accept-encoding': 'gzip' } })
  t.equal(gz.headers['content-encoding'], 'gzip')
  t.match(zlib.gunzipSync(gz.rawPayload).toString(), 'b.txt')
  t.not(gz.headers.etag, (await app.inject('/d/')).headers.etag)
})

/** An app whose `/name/as` sends the file `name` as if it were the one `as` was looked up as (its stat). */
async function asIf (t: Test, files: FileResponder, root: string): Promise<FastifyInstance> {
  const app = Fastify()
  await files.install(app)
  app.setErrorHandler(errorHandler)
  app.get('/:name/:as', (req, reply) => {
    const { name, as } = req.params as Record<string, string>
    return files.send(req, reply, path.join(root, name), statSync(path.join(root, as)))
  })
  t.teardown(() => app.close())
  return app
}

t.test('the open file is proven to be the one looked up', async (t) => {
  const root = t.testdir({ 'a.txt': 'inside', 'b.txt': 'other', link: t.fixture('symlink', 'a.txt') })
  execFileSync('mkfifo', [path.join(root, 'fifo')])
  const app = await asIf(t, new FileResponder(noCache, () => null), root)
  t.equal((await app.inject('/a.txt/a.txt')).body, 'inside')
  t.equal((await app.inject('/b.txt/a.txt')).statusCode, 404, 'another inode than the one checked')
  t.equal((await app.inject('/fifo/a.txt')).statusCode, 404, 'a FIFO swapped in: refused at once, never read')
  t.equal((await app.inject('/link/a.txt')).statusCode, 404, 'not at the vetted real path')
  // nothing of the file looked up is told unless the open one is it: not by HEAD, nor by a 304,
  // 412 or 416, which send no body (a swap race showed an outside file's length, date and tag)
  const a = await app.inject('/a.txt/a.txt')
  for (const [what, req] of [
    ['HEAD', { method: 'HEAD' as const }],
    ['a 304', { headers: { 'if-none-match': a.headers.etag as string } }],
    ['a 412', { headers: { 'if-match': '"other"' } }],
    ['a 416', { headers: { range: 'bytes=99-' } }]
  ] as const) {
    t.equal((await app.inject({ url: '/a.txt/a.txt', ...req })).statusCode, what === 'HEAD' ? 200 : Number(what.slice(2)), `${what} of the file itself`)
    const swapped = await app.inject({ url: '/b.txt/a.txt', ...req })
    t.equal(swapped.statusCode, 404, `${what}: another inode than the one checked`)
    t.notOk(swapped.headers.etag, `${what}: no tag of the file looked up`)
    t.equal((await app.inject({ url: '/link/a.txt', ...req })).statusCode, 404, `${what}: not at the vetted real path`)
  }
  // the cache's HEAD and 304, which read nothing, prove the file first as well
  const withCache = await asIf(t, new FileResponder({ ...noCache, cacheFileBytes: 1024, cacheTotalBytes: 1024 }, () => null), root)
  for (const req of [{ method: 'HEAD' as const }, { headers: { 'if-none-match': a.headers.etag as string } }]) {
    t.equal((await withCache.inject({ url: '/a.txt/a.txt', ...req })).statusCode, 'method' in req ? 200 : 304, 'from the cache: the file itself')
    const swapped = await withCache.inject({ url: '/b.txt/a.txt', ...req })
    t.equal(swapped.statusCode, 404, 'from the cache: another inode than the one checked')
    t.notOk(swapped.headers.etag)
  }
  // symlinks: 'follow' opens through links: the same inode is proof enough
  const follow = await asIf(t, new FileResponder(noCache, () => null, false), root)
  t.equal((await follow.inject({ method: 'HEAD', url: '/link/a.txt' })).statusCode, 200, 'following links: HEAD through one')
  t.equal((await follow.inject({ method: 'HEAD', url: '/b.txt/a.txt' })).statusCode, 404, 'following links: still the same inode')
})

function withSize (s: Stats, size: number): Stats {
  return Object.assign(Object.create(Object.getPrototypeOf(s)), s, { size })
}

const noCache = { maxAge: 0, immutable: false, compress: false, precompressed: false, threshold: 1024, compressing: new ClientSlots(4, 4), cacheFileBytes: 0, cacheTotalBytes: 0, cacheEntries: 10, downloadHtml: false }

t.test('a file that shrinks while it is sent ends the connection, never leaves the client waiting', async (t) => {
  const size = 32 * 1024 * 1024 // far more than the socket's buffers hold, so most is still to read
  const root = t.testdir({ 'f.bin': Buffer.alloc(size, 1) })
  const app = await serve(t, root)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const socket = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  // keep-alive: without the guard, send's stream ends quietly and the client waits on an open connection
  socket.write('GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  const [first] = await once(socket, 'data') as [Buffer]
  socket.pause()
  t.match(first.subarray(0, 1024).toString('latin1'), new RegExp(`^HTTP/1.1 200 .*\\r\\ncontent-length: ${size}\\r\\n`, 'is'))
  truncateSync(path.join(root, 'f.bin'), 1024 * 1024)
  let received = first.length
  socket.on('data', (c: Buffer) => { received += c.length })
  socket.setTimeout(30_000, () => socket.destroy(new Error('the connection was left open')))
  socket.resume()
  await once(socket, 'close')
  t.ok(received < size, `closed after ${received} of ${size} bytes`)
})

t.test('a small file that shrank between its stat and its read is answered from disk as it is now', async (t) => {
  const root = t.testdir({ 's.txt': 'small' })
  const files = new FileResponder({ ...noCache, cacheFileBytes: 1024, cacheTotalBytes: 1024 }, () => null)
  const app = Fastify()
  await files.install(app)
  // the stat says what the file was when it was looked up: more than there is now
  app.get('/small', (req, reply) => files.send(req, reply, path.join(root, 's.txt'), withSize(statSync(path.join(root, 's.txt')), 50)))
  t.teardown(() => app.close())
  const res = await app.inject('/small')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], '5')
  t.equal(res.body, 'small')
})

t.test('the content cache: bounded in entries and bytes, and a failed read is not remembered', async (t) => {
  const tree: Record<string, string> = {}
  for (let i = 0; i < 6; i++) tree[`f${i}.txt`] = String(i).repeat(40)
  const root = t.testdir(tree)
  const app = await asIf(t, new FileResponder({ ...noCache, cacheFileBytes: 100, cacheTotalBytes: 100, cacheEntries: 3 }, () => null), root)
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 6; i++) t.equal((await app.inject(`/f${i}.txt/f${i}.txt`)).body, String(i).repeat(40))
  }
  // two reads at once, the second evicting the first before its bytes arrive
  const both = await Promise.all([app.inject('/f0.txt/f0.txt'), app.inject('/f1.txt/f1.txt'), app.inject('/f2.txt/f2.txt'), app.inject('/f3.txt/f3.txt')])
  t.same(both.map((r) => r.body), [0, 1, 2, 3].map((i) => String(i).repeat(40)))
  t.equal((await app.inject('/gone.txt/f5.txt')).statusCode, 404, 'the file vanished between stat and open')
  t.equal((await app.inject('/f5.txt/f5.txt')).body, '5'.repeat(40), 'and the next read works')
})

t.test('listings without compression vary on Accept only', async (t) => {
  const app = await setup(t, { d: {} }, { compress: false })
  t.equal((await app.inject('/d/')).headers.vary, 'Accept')
})

t.test('a client gone as its file began: the descriptor is closed at once, not when the garbage collector finds it', async (t) => {
  const root = t.testdir({ 'big.bin': big })
  const app = await serve(t, root)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const open = (): number => readdirSync('/proc/self/fd').length
  const before = open()
  // each request is read, the file opened and verified, and only then is the closed socket seen:
  // the stream is destroyed before it was ever read
  for (let i = 0; i < 40; i++) {
    const s = net.connect(port, '127.0.0.1')
    await once(s, 'connect')
    s.end(`GET /big.bin HTTP/1.1\r\nHost: x\r\n${i % 2 === 0 ? 'Range: bytes=0-99,200-299\r\n' : ''}\r\n`)
    s.destroy()
    await once(s, 'close')
  }
  await waitFor('every descriptor closed', () => open() <= before)
  t.ok(open() <= before)
})
