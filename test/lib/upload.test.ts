// Uploads on a bare Fastify with real folders: where a file may be written, under which name, how
// (whole or not at all), and who may ask. Raw sockets where inject would normalise the request or
// could not show what happens on the wire (100 Continue, a client that vanishes).
import t, { type Test } from 'tap'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import net, { type AddressInfo } from 'node:net'
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import Fastify from 'fastify'
import serveDir, { type ServeDirOptions, type UploadOptions } from '../../lib/serve-dir'
import { allowLongUploads } from '../../lib/server'
import { hostName, isOwnHost } from '../../lib/serve-dir/cross-site'
import { badName } from '../../lib/serve-dir/upload/names'
import { UploadFolder, renamed, store } from '../../lib/serve-dir/upload/store'
import { guarded } from '../../lib/serve-dir/upload/guard'
import { capture, serve, waitFor } from '../helper'
import { attacks } from '../traversal-payloads'

async function uploading (t: Test, root: string, uploads: UploadOptions | true = true, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  return await serve(t, root, { uploads, ...opts })
}

async function listening (app: FastifyInstance, continueLater = false): Promise<number> {
  if (continueLater) allowLongUploads(app.server)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** Every name under `dir`, relative, never through a link. */
function walk (dir: string, base = ''): string[] {
  return readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((d) => {
    const rel = path.join(base, d.name)
    return d.isDirectory() ? [rel, ...walk(dir, rel)] : [rel]
  })
}

/** Every temporary upload file under `dir`. */
function temps (dir: string): string[] {
  return walk(dir).filter((n) => path.basename(n).startsWith('.serve-dir-upload-'))
}

/** What a raw HTTP/1.1 exchange brought back, as text, until the server closed or `until` matched. */
async function raw (port: number, head: string, body: Buffer | string = '', { until, stopAfterHead = false }: { until?: RegExp, stopAfterHead?: boolean } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let text = ''
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer in 30 s')))
    socket.on('data', (c) => {
      text += c.toString('latin1')
      if (until?.test(text) === true) { socket.destroy(); resolve(text) }
    })
    // a server that answered and closed while the body was still being sent: the answer counts
    socket.on('error', (err) => { if (text === '') reject(err); else resolve(text) })
    socket.on('close', () => { resolve(text) })
    socket.write(head + '\r\n\r\n', 'latin1')
    if (!stopAfterHead) socket.write(body)
  })
}

t.test('options: uploads is off by default, and a bad value fails ready() with a named error', async (t) => {
  const root = t.testdir({})
  const app = await serve(t, root)
  t.equal((await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x' })).statusCode, 405, 'off: PUT is a 405')
  t.notOk(existsSync(path.join(root, 'a.txt')))
  for (const bad of [1, 'yes', [], { paths: [] }, { paths: ['no-slash'] }, { paths: ['/a/../b'] }, { overwrite: 'sometimes' }, { maxBytes: -1 }, { mkdir: 'no' }, { allowedHosts: ['a b'] }, { what: 1 }]) {
    const app = Fastify()
    app.register(serveDir, { root, uploads: bad as never })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION' }, JSON.stringify(bad))
  }
})

t.test('PUT a new file: 201, Location, the ETag GET then sends; replacing it as overwrite says', async (t) => {
  const root = t.testdir({ sub: {} })
  const lines = capture()
  const app = Fastify({ logger: { level: 'info', stream: lines.stream } })
  await app.register(serveDir, { root, uploads: true })
  t.teardown(() => app.close())
  const put = await app.inject({ method: 'PUT', url: '/sub/caf%C3%A9 1.txt', payload: 'hello' })
  t.equal(put.statusCode, 201)
  t.equal(put.headers.location, '/sub/caf%C3%A9%201.txt')
  t.match(put.body, 'Created /sub/caf%C3%A9%201.txt (5 bytes)')
  t.equal(readFileSync(path.join(root, 'sub', 'café 1.txt'), 'utf8'), 'hello')
  const get = await app.inject('/sub/caf%C3%A9%201.txt')
  t.equal(get.body, 'hello')
  t.equal(get.headers.etag, put.headers.etag, 'the ETag of the stored file')
  t.match(lines.text(), /"upload":"\/sub\/caf%C3%A9%201\.txt","bytes":5,"msg":"upload stored"/, 'one log line per upload')
  t.notMatch(lines.text(), 'hello', 'never the contents')

  const again = await app.inject({ method: 'PUT', url: '/sub/caf%C3%A9 1.txt', payload: 'other' })
  t.equal(again.statusCode, 409, 'overwrite never (the default): 409')
  t.equal(readFileSync(path.join(root, 'sub', 'café 1.txt'), 'utf8'), 'hello', 'and the file is as it was')
  t.same(temps(root), [], 'no temporary file left')
})

t.test('overwrite: rename keeps both, always replaces (204), and conditional PUTs', async (t) => {
  const root = t.testdir({ 'a.txt': 'old', 'b.tar.gz': 'old', README: 'old' })
  const renaming = await uploading(t, root, { overwrite: 'rename' })
  const r1 = await renaming.inject({ method: 'PUT', url: '/a.txt', payload: 'new' })
  t.equal(r1.statusCode, 201)
  t.equal(r1.headers.location, '/a%20%281%29.txt')
  t.equal((await renaming.inject({ method: 'PUT', url: '/a.txt', payload: 'newer' })).headers.location, '/a%20%282%29.txt')
  t.equal((await renaming.inject({ method: 'PUT', url: '/README', payload: 'new' })).headers.location, '/README%20%281%29')
  t.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'old')
  t.equal(readFileSync(path.join(root, 'a (2).txt'), 'utf8'), 'newer')
  t.equal(renamed('b.tar.gz', 3), 'b.tar (3).gz')
  t.equal(renamed('.profile', 1), '.profile (1)')

  const root2 = t.testdir({ 'a.txt': 'old' })
  const app = await uploading(t, root2, { overwrite: 'always' })
  const etag = (await app.inject('/a.txt')).headers.etag as string
  t.equal((await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x', headers: { 'if-none-match': '*' } })).statusCode, 412, 'If-None-Match: * on an existing file')
  t.equal((await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x', headers: { 'if-match': 'W/"nope"' } })).statusCode, 412, 'If-Match of another version')
  t.equal((await app.inject({ method: 'PUT', url: '/new.txt', payload: 'x', headers: { 'if-match': '*' } })).statusCode, 412, 'If-Match on a missing file')
  t.equal(readFileSync(path.join(root2, 'a.txt'), 'utf8'), 'old', 'nothing written by a failed precondition')
  const ok = await app.inject({ method: 'PUT', url: '/a.txt', payload: 'replaced', headers: { 'if-match': etag } })
  t.equal(ok.statusCode, 204, 'replaced: 204')
  t.notOk(ok.headers.location)
  t.equal(readFileSync(path.join(root2, 'a.txt'), 'utf8'), 'replaced')
  t.equal((await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x', headers: { 'if-none-match': ok.headers.etag as string } })).statusCode, 412, 'If-None-Match naming the version')
  t.equal((await app.inject({ method: 'PUT', url: '/n.txt', payload: 'fresh', headers: { 'if-none-match': '*' } })).statusCode, 201, 'If-None-Match: * on a new name')
})

t.test('where a file may not go: 403, 409 and 400, and nothing written', async (t) => {
  const root = t.testdir({ inbox: { 'file.txt': 'f' }, other: {}, '.git': {} })
  const app = await uploading(t, root, { paths: ['/inbox'], mkdir: false })
  const cases: Array<[string, number, string]> = [
    ['/other/a.txt', 403, 'outside the upload paths'],
    ['/a.txt', 403, 'the root, above the upload path'],
    ['/inboxes/a.txt', 403, 'a sibling sharing the prefix'],
    ['/inbox/.env', 403, 'a hidden name'],
    ['/inbox/.git/config', 403, 'in a hidden folder'],
    ['/.serve-dir/listing.css', 403, 'the plugin\'s own assets'],
    ['/inbox/.serve-dir-upload-0123', 403, 'a temporary name'],
    ['/inbox/a%5Cb', 403, 'a backslash'],
    ['/inbox/a%01b', 403, 'a control character'],
    ['/inbox/' + 'x'.repeat(256), 403, 'over 255 bytes'],
    ['/inbox/a%2fb', 400, 'an encoded slash'],
    ['/inbox/a%00', 400, 'NUL'],
    ['/inbox/', 409, 'a folder\'s URL'],
    ['/inbox', 403, 'the upload folder\'s own name: a file in the root, which is none'],
    ['/inbox/file.txt/a.txt', 409, 'a file in the way'],
    ['/inbox/missing/a.txt', 409, 'a missing folder without mkdir']
  ]
  for (const [url, status, why] of cases) {
    const res = await app.inject({ method: 'PUT', url, payload: 'x' })
    t.equal(res.statusCode, status, `${why}: ${url}`)
  }
  t.same(readdirSync(root).sort(), ['.git', 'inbox', 'other'])
  t.same(readdirSync(path.join(root, 'inbox')), ['file.txt'])
  t.same(readdirSync(path.join(root, 'other')), [])
  const json = await app.inject({ method: 'PUT', url: '/other/a.txt', payload: 'x', headers: { accept: 'application/json' } })
  t.match(json.json(), { code: 'FST_SERVE_DIR_WRITE_FORBIDDEN', message: 'Upload refused: not an upload folder' }, 'said as the client asked')
  // dotfiles: 'allow' lets hidden names be written, never the reserved ones
  const open = await uploading(t, root, { paths: ['/inbox'] }, { dotfiles: 'allow' })
  t.equal((await open.inject({ method: 'PUT', url: '/inbox/.env', payload: 'x' })).statusCode, 201)
  t.equal((await open.inject({ method: 'PUT', url: '/inbox/.serve-dir-upload-1', payload: 'x' })).statusCode, 403)
  t.equal((await open.inject({ method: 'PUT', url: '/inbox/new/deeper/a.txt', payload: 'x' })).statusCode, 201, 'mkdir (the default) makes the folders')
  t.ok(lstatSync(path.join(root, 'inbox', 'new', 'deeper', 'a.txt')).isFile())
})

t.test('what is in the way: a FIFO, every renamed name taken, a form without a type, a URL the router folds', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const taken = Object.fromEntries([['a.txt', 'a'], ...Array.from({ length: 99 }, (_, i) => [`a (${i + 1}).txt`, 'a'])])
  const root = t.testdir({ ...taken, box: {} })
  t.equal(spawnSync('mkfifo', [path.join(root, 'pipe')]).status, 0, 'mkfifo')
  const app = await uploading(t, root, { overwrite: 'rename' })
  const fifo = await app.inject({ method: 'PUT', url: '/pipe', payload: 'x' })
  t.equal(fifo.statusCode, 403, 'a FIFO is not a file to replace')
  t.match(fifo.body, 'not a regular file')
  t.equal((await app.inject({ method: 'PUT', url: '/box', payload: 'x' })).statusCode, 409, 'a folder\'s name')
  const full = await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x' })
  t.equal(full.statusCode, 409, 'a (1).txt to a (99).txt all taken')
  t.match(full.body, 'no free name like')
  t.equal((await app.inject({ method: 'POST', url: '/box/', payload: 'x' })).statusCode, 400, 'a POST without a type')
  t.same(readdirSync(path.join(root, 'box')), [])
  t.same(temps(root), [])

  const folding = Fastify({ routerOptions: { caseSensitive: false } })
  t.teardown(() => folding.close())
  await folding.register(serveDir, { root, prefix: '/files', uploads: true })
  t.equal((await folding.inject({ method: 'PUT', url: '/FILES/new.txt', payload: 'x' })).statusCode, 404, 'the router folds case; the mount does not')
  t.equal((await folding.inject({ method: 'PUT', url: '/files/new.txt', payload: 'x' })).statusCode, 201)
  t.equal((await folding.inject({ method: 'PUT', url: '/files', payload: 'x' })).statusCode, 409, 'the mount\'s own URL names no file')
  t.notOk(existsSync(path.join(root, 'undefined')))
})

t.test('names: what badName refuses', async (t) => {
  for (const n of ['', '.', '..', 'a/b', 'a\\b', 'a\0b', 'a\nb', 'a\x7fb', '.hidden', '.serve-dir', 'x'.repeat(256), 'é'.repeat(128), 'bad\uFFFD']) {
    t.ok(badName(n, false), JSON.stringify(n).slice(0, 30))
  }
  t.ok(badName('ok', true, Buffer.from([0x6f, 0xff])), 'bytes that are not UTF-8')
  for (const n of ['a.txt', 'café', 'x'.repeat(255), 'é'.repeat(127), 'a b (1).tar.gz', '.hidden']) t.notOk(badName(n, true), n.slice(0, 30))
})

t.test('links: never written through, at the name or on the way, whatever the symlink policy', async (t) => {
  for (const symlinks of ['inside', 'follow'] as const) {
    const top = t.testdir({
      outside: { 'target.txt': 'outside' },
      www: {
        inner: {},
        dangling: t.fixture('symlink', '../outside/new.txt'),
        live: t.fixture('symlink', '../outside/target.txt'),
        'dir-out': t.fixture('symlink', '../outside'),
        'dir-in': t.fixture('symlink', 'inner')
      }
    })
    const root = path.join(top, 'www')
    const app = await uploading(t, root, true, { symlinks })
    for (const url of ['/dangling', '/live', '/dir-out/x.txt', '/dir-in/x.txt', '/dir-out/new/x.txt']) {
      t.equal((await app.inject({ method: 'PUT', url, payload: 'written' })).statusCode, 403, `${symlinks}: ${url}`)
    }
    t.same(readdirSync(path.join(top, 'outside')), ['target.txt'], `${symlinks}: nothing appeared outside`)
    t.equal(readFileSync(path.join(top, 'outside', 'target.txt'), 'utf8'), 'outside')
    t.same(readdirSync(path.join(root, 'inner')), [])
    t.equal(readlinkSync(path.join(root, 'dangling')), '../outside/new.txt', 'the link itself is left alone')
  }
  const top = t.testdir({ www: { live: t.fixture('symlink', 'a.txt'), 'a.txt': 'a' } })
  const app = await uploading(t, path.join(top, 'www'), { overwrite: 'always' })
  t.equal((await app.inject({ method: 'PUT', url: '/live', payload: 'x' })).statusCode, 403, 'overwrite always does not replace a link')
  const fifo = await uploading(t, t.testdir({}), { overwrite: 'always' })
  t.equal((await fifo.inject({ method: 'PUT', url: '/', payload: 'x' })).statusCode, 409)
})

t.test('traversal payloads replayed as PUT over a raw socket: nothing appears beside the root', async (t) => {
  const top = t.testdir({ 'secret.txt': 'SECRET', www: { sub: {}, 'link-out': t.fixture('symlink', '..') } })
  const root = path.join(top, 'www')
  const app = await uploading(t, root)
  const port = await listening(app)
  const beside = (): string[] => walk(top).filter((n) => !n.startsWith('www' + path.sep)).sort()
  const before = beside()
  for (const target of attacks) {
    const text = await raw(port, `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close`, 'PWNED')
    const status = Number(text.split(' ')[1])
    t.ok(status >= 400 || status === 201, `${target} → ${status}`)
  }
  t.same(beside(), before, 'beside the root, the same names as before')
  t.equal(readFileSync(path.join(top, 'secret.txt'), 'utf8'), 'SECRET')
  // what was written went below the root, under a name it can be read back by
  for (const f of walk(root)) {
    const full = path.join(root, f)
    if (lstatSync(full).isFile()) t.equal(readFileSync(full, 'utf8'), 'PWNED', `inside: ${f}`)
  }
})

t.test('size: 413 before the body from Content-Length, or as a chunked body passes the limit', async (t) => {
  const root = t.testdir({})
  const app = await uploading(t, root, { maxBytes: 10 })
  const port = await listening(app, true)
  t.equal((await app.inject({ method: 'PUT', url: '/ok.txt', payload: '0123456789' })).statusCode, 201, 'exactly the limit')
  const declared = await raw(port, 'PUT /big.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\nExpect: 100-continue', '', { stopAfterHead: true, until: /\r\n\r\n[^]*\r\n\r\n|Upload too large/ })
  t.match(declared, /^HTTP\/1\.1 413 /, 'refused')
  t.notMatch(declared, '100 Continue', 'with no 100 Continue: the client sends no body')
  t.match(declared, /connection: close/i, 'and the connection closes, so that an unsent body is never read')
  const chunked = await raw(port, 'PUT /chunked.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked', '6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n')
  t.match(chunked, /^HTTP\/1\.1 413 /, 'chunked, counted as it came')
  t.same(readdirSync(root), ['ok.txt'], 'nothing kept, no temporary file')
  const fine = await raw(port, 'PUT /go.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close', '', { stopAfterHead: true, until: /100 Continue\r\n\r\n/ })
  t.match(fine, /^HTTP\/1\.1 100 Continue/, 'an acceptable upload is told to go on')
})

t.test('free space: 507 when the disk would keep less than minFreeBytes', async (t) => {
  const root = t.testdir({})
  const app = await uploading(t, root, { minFreeBytes: Number.MAX_SAFE_INTEGER })
  const res = await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x' })
  t.equal(res.statusCode, 507)
  t.same(readdirSync(root), [])
})

t.test('twenty PUTs of one name at once: exactly one wins, the rest 409, no temporary file', async (t) => {
  const root = t.testdir({})
  const port = await listening(await uploading(t, root, { maxPerClient: 20, maxConcurrent: 20 }))
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const res = await fetch(`http://127.0.0.1:${port}/same.txt`, { method: 'PUT', body: `writer ${i}`.padEnd(64 * 1024, '.') })
    await res.arrayBuffer()
    return res.status
  }))
  t.equal(results.filter((s) => s === 201).length, 1, 'one 201')
  t.equal(results.filter((s) => s === 409).length, 19, 'nineteen 409')
  t.match(readFileSync(path.join(root, 'same.txt'), 'utf8'), /^writer \d+\.+$/, 'one whole upload')
  t.same(readdirSync(root), ['same.txt'])
})

t.test('a client that vanishes half-way, or stalls: no trace, and the server serves on', async (t) => {
  const root = t.testdir({ 'keep.txt': 'k' })
  const app = await uploading(t, root, { idleTimeout: 300 })
  const port = await listening(app)
  // half of the declared body, then gone
  const socket = net.connect({ port, host: '127.0.0.1' })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('PUT /half.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n')
  socket.write(Buffer.alloc(1_000_000, 1))
  await waitFor('the temporary file to be written to', () => temps(root).length === 1)
  socket.destroy()
  await waitFor('the temporary file to go', () => temps(root).length === 0)
  t.same(readdirSync(root), ['keep.txt'], 'an abort at 50 % leaves no trace')
  // part of a body, then nothing: cut after idleTimeout with a 408
  const stalled = await raw(port, 'PUT /stalled.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100', 'only a little')
  t.match(stalled, /^HTTP\/1\.1 408 /, 'a stalled upload is cut')
  t.same(readdirSync(root), ['keep.txt'], 'and cleaned')
  t.equal((await fetch(`http://127.0.0.1:${port}/keep.txt`).then(async (r) => await r.text())), 'k', 'everyone else is served')
})

t.test('an upload that takes longer than the request timeout but keeps moving succeeds', async (t) => {
  const root = t.testdir({})
  // a 1 s request timeout stands for the app's 30 s; the idle timeout is what cuts uploads
  const app = Fastify({ requestTimeout: 1000, http: { connectionsCheckingInterval: 100 } })
  // no minimum rate: this client is slower than the default allows
  await app.register(serveDir, { root, uploads: { idleTimeout: 1000, minRate: 0 } })
  t.teardown(() => app.close())
  const port = await listening(app, true)
  const socket = net.connect({ port, host: '127.0.0.1' })
  let text = ''
  socket.on('data', (c) => { text += c.toString() })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('PUT /slow.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n')
  const started = Date.now()
  for (let i = 0; i < 10 && !socket.destroyed; i++) {
    socket.write(String(i))
    // a throttled client: a byte every 250 ms (the pause is the input under test, not a wait for an event)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await closed
  t.ok(Date.now() - started > 2000, 'longer than the request timeout')
  t.match(text, /^HTTP\/1\.1 201 /)
  t.equal(readFileSync(path.join(root, 'slow.txt'), 'utf8'), '0123456789')
})

t.test('cross-site writes are refused; curl and the server\'s own pages are not', async (t) => {
  const root = t.testdir({})
  const app = await uploading(t, root, { allowedHosts: ['files.example'] })
  const put = async (headers: Record<string, string>, url = '/a.txt'): Promise<number> =>
    (await app.inject({ method: 'PUT', url, payload: 'x', headers })).statusCode
  t.equal(await put({ origin: 'http://evil.example' }), 403, 'another Origin')
  t.equal(await put({ origin: 'null' }), 403, 'an opaque Origin (a sandboxed page)')
  t.equal(await put({ 'sec-fetch-site': 'cross-site' }), 403, 'Sec-Fetch-Site: cross-site')
  t.equal(await put({ 'sec-fetch-site': 'same-site' }), 403, 'Sec-Fetch-Site: same-site (another port)')
  t.equal(await put({ host: 'rebound.evil.example' }), 403, 'a Host that is not this machine (DNS rebinding)')
  t.same(readdirSync(root), [])
  t.equal(await put({ host: 'localhost:80', origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' }, '/1.txt'), 201, 'the page\'s own origin')
  t.equal(await put({ host: 'files.example' }, '/2.txt'), 201, 'an --allowed-host')
  t.equal(await put({ host: '[::1]:8000', 'sec-fetch-site': 'none' }, '/3.txt'), 201, 'typed in the address bar')
  t.equal(await put({}, '/4.txt'), 201, 'curl: no Origin, no Sec-Fetch-Site')
  const port = await listening(app)
  t.match(await raw(port, 'PUT /5.txt HTTP/1.0\r\nContent-Length: 1', 'x'), /^HTTP\/1\.1 403 /, 'no Host at all (HTTP/1.0)')
  t.equal(hostName('[::1]:8000'), '::1')
  t.equal(hostName('Laptop.local.:8000'), 'laptop.local')
  t.ok(isOwnHost('laptop.local', [], 'laptop'))
  t.ok(isOwnHost('laptop', [], 'laptop'))
  t.ok(isOwnHost('app.localhost', [], 'laptop'))
  t.ok(isOwnHost('192.168.1.5', [], 'laptop'))
  t.notOk(isOwnHost('laptop.evil.example', [], 'laptop'))
})

t.test('behind a trusted proxy that rewrites Host, the browser\'s Origin is checked against X-Forwarded-Host', async (t) => {
  const root = t.testdir({})
  const headers = { host: '127.0.0.1:3000', 'x-forwarded-host': 'files.example', 'x-forwarded-proto': 'https', origin: 'https://files.example', 'sec-fetch-site': 'same-origin' }
  const proxied = Fastify({ trustProxy: true })
  t.teardown(() => proxied.close())
  await proxied.register(serveDir, { root, uploads: { allowedHosts: ['files.example'] } })
  t.equal((await proxied.inject({ method: 'PUT', url: '/a.txt', payload: 'x', headers })).statusCode, 201)
  const direct = await uploading(t, root, { allowedHosts: ['files.example'] })
  t.equal((await direct.inject({ method: 'PUT', url: '/b.txt', payload: 'x', headers })).statusCode, 403, 'X-Forwarded-Host from a proxy not trusted: ignored')
})

t.test('--cors opens reading to other sites, never writing: preflights allow GET and HEAD only', async (t) => {
  const root = t.testdir({})
  const app = await uploading(t, root, true, { cors: true })
  const preflight = await app.inject({ method: 'OPTIONS', url: '/a.txt', headers: { origin: 'https://other.example', 'access-control-request-method': 'PUT' } })
  t.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD')
  const put = await app.inject({ method: 'PUT', url: '/a.txt', payload: 'x', headers: { origin: 'https://other.example' } })
  t.equal(put.statusCode, 403, 'a cross-origin PUT, CORS or not')
  t.notOk(existsSync(path.join(root, 'a.txt')))
})

t.test('pages under an upload path run sandboxed; files elsewhere and the listing do not', async (t) => {
  const root = t.testdir({ inbox: {}, site: { 'page.html': '<p>site</p>' } })
  const app = await uploading(t, root, { paths: ['/inbox'] })
  const active = ['evil.html', 'pic.svg', 'data.xml', 'page.xhtml', 'feed.rss', 'feed.atom', 'style.xslt', 'eq.mml', 'map.kml']
  for (const name of [...active, 'notes.txt']) {
    t.equal((await app.inject({ method: 'PUT', url: '/inbox/' + name, payload: '<a/>' })).statusCode, 201)
  }
  for (const name of active) {
    t.match((await app.inject('/inbox/' + name)).headers['content-security-policy'], /^sandbox allow-scripts/, name)
  }
  t.notOk((await app.inject('/inbox/notes.txt')).headers['content-security-policy'], 'plain text needs none')
  t.notOk((await app.inject('/site/page.html')).headers['content-security-policy'], 'not an upload path')
  t.notMatch(String((await app.inject('/inbox/')).headers['content-security-policy']), 'sandbox', 'the listing keeps its own policy')
})

t.test('temporary files are never listed, served or archived, even with dotfiles allowed', async (t) => {
  const root = t.testdir({ '.serve-dir-upload-abc': 'partial', 'a.txt': 'a', '.env': 'e' })
  const app = await uploading(t, root, true, { dotfiles: 'allow' })
  t.equal((await app.inject('/.serve-dir-upload-abc')).statusCode, 404)
  const listing = (await app.inject({ url: '/', headers: { accept: 'application/json' } })).json() as { entries: Array<{ name: string }> }
  t.same(listing.entries.map((e) => e.name).sort(), ['.env', 'a.txt'])
  const tar = await app.inject('/?download=tar.gz')
  t.equal(tar.statusCode, 200)
  const { gunzipSync } = await import('node:zlib')
  t.notMatch(gunzipSync(tar.rawPayload).toString('latin1'), 'serve-dir-upload', 'not in an archive')
})

/** A multipart body of `files` ([field name, file name, content]). */
function form (files: Array<[string, string]>): { payload: Buffer, headers: Record<string, string> } {
  const boundary = '----serve-dir-test-boundary'
  const parts = files.map(([name, content]) => Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="`),
    Buffer.from(name, 'utf8'),
    Buffer.from(`"\r\nContent-Type: application/octet-stream\r\n\r\n${content}\r\n`)
  ]))
  return { payload: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

t.test('the listing\'s form: several files, 303 back to the listing; JSON for a script', async (t) => {
  const root = t.testdir({ inbox: {} })
  const app = await uploading(t, root)
  const res = await app.inject({ method: 'POST', url: '/inbox/', ...form([['one.txt', '1'], ['två.txt', '2']]) })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, './')
  t.equal(readFileSync(path.join(root, 'inbox', 'två.txt'), 'utf8'), '2')
  const json = await app.inject({ method: 'POST', url: '/inbox/', ...form([['three.txt', '333']]), headers: { ...form([]).headers, accept: 'application/json' } })
  t.equal(json.statusCode, 201)
  t.same(json.json(), { files: [{ url: '/inbox/three.txt', bytes: 3 }] })
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', ...form([['one.txt', 'again']]) })).statusCode, 409, 'a taken name')
  t.equal(readFileSync(path.join(root, 'inbox', 'one.txt'), 'utf8'), '1')
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', ...form([['.env', 'x'], ['after.txt', 'y']]) })).statusCode, 403, 'a bad name ends the form')
  t.notOk(existsSync(path.join(root, 'inbox', 'after.txt')), 'and the files after it are not kept')
  t.equal((await app.inject({ method: 'POST', url: '/inbox', ...form([['x.txt', 'x']]) })).statusCode, 400, 'not a folder URL')
  const replacing = await uploading(t, root, { overwrite: 'always' })
  t.equal((await replacing.inject({ method: 'POST', url: '/inbox/', ...form([['one.txt', 'replaced']]) })).statusCode, 303, 'overwrite: always')
  t.equal(readFileSync(path.join(root, 'inbox', 'one.txt'), 'utf8'), 'replaced')
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode, 400, 'not multipart')
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', payload: '--x--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=x' } })).statusCode, 400, 'no file in it')
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', payload: 'x', headers: { 'content-type': 'multipart/form-data; nothing=here' } })).statusCode, 400, 'no boundary')
})

t.test('multipart file names are attacker input: refused, and nothing created', async (t) => {
  const top = t.testdir({ www: { inbox: {} } })
  const root = path.join(top, 'www')
  const app = await uploading(t, root)
  for (const name of ['../evil.txt', '../../evil.txt', 'a/b.txt', '/etc/evil', 'a\\..\\evil.txt', '.env', '..', '.', '', 'nul\x01.txt', '.serve-dir-upload-1']) {
    const res = await app.inject({ method: 'POST', url: '/inbox/', ...form([[name, 'PWNED']]) })
    t.ok(res.statusCode === 403 || res.statusCode === 400, `${JSON.stringify(name)} → ${res.statusCode}`)
  }
  const bytes = Buffer.concat([Buffer.from('--b\r\nContent-Disposition: form-data; name="f"; filename="'), Buffer.from([0x61, 0xff, 0x62]), Buffer.from('"\r\n\r\nx\r\n--b--\r\n')])
  t.equal((await app.inject({ method: 'POST', url: '/inbox/', payload: bytes, headers: { 'content-type': 'multipart/form-data; boundary=b' } })).statusCode, 403, 'a name that is not UTF-8')
  t.same(walk(top), ['www', path.join('www', 'inbox')], 'nothing anywhere')
})

t.test('a file is whole or absent: a reader never sees part of an upload', async (t) => {
  const root = t.testdir({})
  const port = await listening(await uploading(t, root))
  const size = 100 * 1024 * 1024
  const socket = net.connect({ port, host: '127.0.0.1' })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`PUT /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`)
  let answer = ''
  socket.on('data', (c) => { answer += c.toString() })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const chunk = Buffer.alloc(1024 * 1024, 7)
  const seen = new Set<number>()
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve))
    const res = await fetch(`http://127.0.0.1:${port}/big.bin`)
    seen.add(res.status === 200 ? (await res.arrayBuffer()).byteLength : (await res.arrayBuffer(), res.status))
  }
  await closed
  t.match(answer, /^HTTP\/1\.1 201 /)
  t.same([...seen].filter((s) => s !== 404 && s !== size), [], `only 404 or the whole file, seen ${[...seen].join(', ')}`)
  t.equal(lstatSync(path.join(root, 'big.bin')).size, size)
})

t.test('writeFileSync stands in for an upload made elsewhere: a PUT of a name taken meanwhile is a 409', async (t) => {
  const root = t.testdir({})
  const app = await uploading(t, root)
  const port = await listening(app)
  const socket = net.connect({ port, host: '127.0.0.1' })
  let answer = ''
  socket.on('data', (c) => { answer += c.toString() })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('PUT /late.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nab')
  await waitFor('the upload to start', () => temps(root).length === 1)
  writeFileSync(path.join(root, 'late.txt'), 'first')
  const closed = new Promise((resolve) => socket.once('close', resolve))
  // the rest of the body, without a half-close (Node takes the client's FIN as an abort)
  socket.write('cd')
  await closed
  t.match(answer, /^HTTP\/1\.1 409 /)
  t.equal(readFileSync(path.join(root, 'late.txt'), 'utf8'), 'first', 'the other writer\'s file stands')
  t.same(temps(root), [])
})

t.test('If-Match holds when the upload replaces the file, not only when it began; rename never takes it', async (t) => {
  const root = t.testdir({ 'doc.txt': 'version 1' })
  const app = await uploading(t, root, { overwrite: 'always' })
  const etag = (await app.inject('/doc.txt')).headers.etag as string
  const port = await listening(app)
  const socket = net.connect({ port, host: '127.0.0.1' })
  let answer = ''
  socket.on('data', (c) => { answer += c.toString() })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`PUT /doc.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-Match: ${etag}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nab`)
  await waitFor('the upload to start', () => temps(root).length === 1)
  // another writer's version 2, while this one is under way
  writeFileSync(path.join(root, 'doc.txt'), 'version 2, longer')
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write('cd')
  await closed
  t.match(answer, /^HTTP\/1\.1 412 /, 'the version it meant to replace is gone: 412')
  t.equal(readFileSync(path.join(root, 'doc.txt'), 'utf8'), 'version 2, longer', 'the other writer\'s version stands')
  t.same(temps(root), [])
  const renaming = await uploading(t, root, { overwrite: 'rename' })
  const now = (await renaming.inject('/doc.txt')).headers.etag as string
  t.equal((await renaming.inject({ method: 'PUT', url: '/doc.txt', payload: 'x', headers: { 'if-match': now } })).statusCode, 409, 'rename never replaces: If-Match cannot be honoured')
  t.same(readdirSync(root), ['doc.txt'])
})

const asRoot = process.getuid?.() === 0
t.test('a small disk filling up: 507, and nothing left behind', { skip: !asRoot && 'mounting a tmpfs needs root' }, async (t) => {
  const { spawnSync } = await import('node:child_process')
  const { mkdtempSync, rmSync } = await import('node:fs')
  const os = await import('node:os')
  // not a t.testdir: that is removed before this test's own teardown could unmount it
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-dir-tmpfs-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status !== 0) { t.plan(0, 'no tmpfs here (a container without the right)'); return }
  t.teardown(() => { spawnSync('umount', ['-l', dir]) })
  const full = await uploading(t, dir, { minFreeBytes: 0 })
  const port = await listening(full)
  const put = async (url: string, bytes: number, chunked: boolean): Promise<string> => await raw(port,
    `PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${bytes}`}`,
    chunked ? Buffer.concat([Buffer.from(bytes.toString(16) + '\r\n'), Buffer.alloc(bytes, 1), Buffer.from('\r\n0\r\n\r\n')]) : Buffer.alloc(bytes, 1))
  t.match(await put('/declared.bin', 6 * 1024 * 1024, false), /^HTTP\/1\.1 507 /, 'a Content-Length over the free space: 507 before the body')
  t.match(await put('/too-big.bin', 6 * 1024 * 1024, true), /^HTTP\/1\.1 507 /, 'the disk is full half-way (ENOSPC): 507')
  t.same(walk(dir), [], 'the partial file is removed')
  const careful = await uploading(t, dir, { minFreeBytes: 1536 * 1024 })
  const port2 = await listening(careful)
  // 3.2 MiB on a 4 MiB disk: room for it, but not for it and 1.5 MiB more
  const text = await raw(port2, 'PUT /chunked.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked',
    Buffer.concat([Buffer.from((3277 * 1024).toString(16) + '\r\n'), Buffer.alloc(3277 * 1024, 1), Buffer.from('\r\n0\r\n\r\n')]))
  t.match(text, /^HTTP\/1\.1 507 /, 'a chunked body that would leave less than minFreeBytes: 507 as it passes')
  t.same(walk(dir), [])
  t.match(await put('/small.bin', 1024, true), /^HTTP\/1\.1 201 /, 'and a small one still fits')
})

t.test('the listing offers its form only where files may be added, and says whether hidden names may', async (t) => {
  const root = t.testdir({ inbox: { deeper: {} }, other: {} })
  const app = await uploading(t, root, { paths: ['/inbox'] })
  const inbox = await app.inject('/inbox/')
  t.match(inbox.body, '<form class="upload" method="post" enctype="multipart/form-data" action="./" data-hidden="ignore">')
  t.match(inbox.body, '<input id="up" name="file" type="file" multiple required>')
  t.match(inbox.headers['content-security-policy'], "connect-src 'self'", 'the script may PUT to this server, and only to it')
  t.match((await app.inject('/inbox/deeper/')).body, 'form class="upload"', 'below an upload path too')
  t.notMatch((await app.inject('/other/')).body, 'form class="upload"', 'not elsewhere')
  t.notMatch((await app.inject('/')).body, 'form class="upload"', 'nor above')
  t.notMatch((await app.inject({ url: '/inbox/', headers: { accept: 'application/json' } })).body, 'upload', 'the JSON listing is as it was')
  const open = await uploading(t, root, { paths: ['/inbox'] }, { dotfiles: 'allow' })
  t.match((await open.inject('/inbox/')).body, 'data-hidden="allow"')
  const off = await serve(t, root)
  t.notMatch((await off.inject('/inbox/')).body, 'form class="upload"', 'uploads off: no form')
})

t.test('store() given a body that is gone before it begins: ClientGoneError, and nothing written', async (t) => {
  const root = t.testdir({})
  const folder = UploadFolder.open(root, [], false)
  t.teardown(() => { folder.close() })
  const body = new PassThrough()
  body.destroy()
  await t.rejects(store(folder, 'x.txt', guarded(body, { maxBytes: 10, idleTimeout: 30_000, minRate: 0 }), 'never', 0), { code: 'FST_SERVE_DIR_CLIENT_GONE' })
  t.same(readdirSync(root), [])
})

t.test('a form whose client goes away, in a file or between two: no temporary file, no descriptor left open', async (t) => {
  const root = t.testdir({ inbox: {} })
  const port = await listening(await uploading(t, root))
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  const boundary = 'gone-boundary'
  const part = (name: string, body: string, end = true): string =>
    `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="${name}"\r\n\r\n${body}${end ? '\r\n' : ''}`
  const writing = (): boolean => temps(root).length > 0
  // each cut once the server has it under way: a file half-sent; a whole file, then half of the
  // next; a file whose part was sent but not the boundary that ends it
  const handling = (): boolean => fds() > before + 1
  const bodies: Array<[string, () => boolean]> = [
    // the folder opened (a descriptor more than the connection's), no part begun
    [`--${boundary}\r\nContent-Disposition: form-da`, handling],
    [part('half.bin', 'x'.repeat(200_000), false), writing],
    [part('whole.txt', 'whole') + part('second.bin', 'y'.repeat(1000), false), () => existsSync(path.join(root, 'inbox', 'whole.txt')) && writing()],
    [part('unended.txt', 'whole'), writing]
  ]
  for (const [body, started] of bodies) {
    const socket = net.connect({ port, host: '127.0.0.1' })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(`POST /inbox/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 10000000\r\n\r\n${body}`)
    await waitFor('the upload to be under way', started)
    socket.destroy()
  }
  await waitFor('every temporary file removed', () => temps(root).length === 0)
  await waitFor(`descriptors back to ${before}`, () => fds() <= before)
  t.same(readdirSync(path.join(root, 'inbox')), ['whole.txt'], 'a whole file stays (its part ended); parts never appear')
  t.equal((await fetch(`http://127.0.0.1:${port}/inbox/whole.txt`)).status, 200, 'and the server serves on')
})
