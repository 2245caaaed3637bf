import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import serveDir from '../../lib/serve-dir'
import { PATIENCE, serve, setup, waitFor } from '../helper'
import { Walker, type WalkItem } from '../../lib/serve-dir/archive/walk'
import { archive } from '../../lib/serve-dir/archive/stream'
import { readTls } from '../../lib/server'

t.test('headers: added to successful answers, never over the server\'s own', async (t) => {
  const app = await setup(t, { 'a.txt': 'a', d: {} }, { headers: { 'X-Frame-Options': 'DENY', ETag: '"mine"', 'Cache-Control': 'private' } })
  const res = await app.inject('/a.txt')
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.not(res.headers.etag, '"mine"', 'the server\'s validator stays')
  t.equal(res.headers['cache-control'], 'no-cache')
  t.equal((await app.inject('/d/')).headers['x-frame-options'], 'DENY', 'listings too')
  t.equal((await app.inject({ url: '/a.txt', headers: { 'if-none-match': res.headers.etag as string } })).headers['x-frame-options'], 'DENY', '304 too')
  t.notOk((await app.inject('/missing')).headers['x-frame-options'], 'not on errors')
  t.notOk((await app.inject('/d')).headers['x-frame-options'], 'not on redirects')
})

t.test('cors: any origin, with preflight', async (t) => {
  const app = await setup(t, { 'a.txt': 'a' }, { cors: true })
  const res = await app.inject({ url: '/a.txt', headers: { origin: 'http://other.example' } })
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.match(res.headers['access-control-expose-headers'], 'ETag')
  t.match(res.headers['access-control-expose-headers'], 'Content-Range')
  const pre = await app.inject({ method: 'OPTIONS', url: '/a.txt', headers: { origin: 'http://other.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' } })
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-origin'], '*')
  t.match(pre.headers['access-control-allow-methods'], 'GET')
  t.match(pre.headers['access-control-allow-headers'], 'range')
  t.equal((await app.inject({ method: 'POST', url: '/a.txt' })).statusCode, 405, 'other methods are still refused')
})

t.test('cors: one origin only, Vary: Origin', async (t) => {
  const app = await setup(t, { 'a.txt': 'a' }, { cors: 'http://good.example' })
  const good = await app.inject({ url: '/a.txt', headers: { origin: 'http://good.example' } })
  t.equal(good.headers['access-control-allow-origin'], 'http://good.example')
  t.match(good.headers.vary, 'Origin')
  const bad = await app.inject({ url: '/a.txt', headers: { origin: 'http://evil.example' } })
  t.not(bad.headers['access-control-allow-origin'], 'http://evil.example')
  t.equal(bad.body, 'a', 'the file is served; the browser keeps it from the other page')
})

t.test('spa: routes get the page, missing assets stay 404, no listings', async (t) => {
  const tree = { 'index.html': '<div id=app>', 'app.js': 'js', sub: { 'x.txt': 'x' } }
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
  const app = await setup(t, tree, { spa: true })
  for (const url of ['/about', '/users/42/profile', '/sub/', '/sub/deeper']) {
    const res = await app.inject({ url, headers: html })
    t.equal(res.statusCode, 200, url)
    t.equal(res.body, '<div id=app>', url)
    t.ok(String(res.headers.vary).split(/,\s*/).includes('Accept'), `${url}: the answer depends on Accept (Vary: ${String(res.headers.vary)})`)
  }
  t.match((await app.inject({ url: '/about', headers: { ...html, 'accept-encoding': 'gzip' } })).headers.vary, /^Accept, Accept-Encoding$/)
  t.equal((await app.inject({ url: '/missing.js', headers: html })).statusCode, 404, 'an asset is never the page')
  t.equal((await app.inject({ url: '/about', headers: { accept: 'application/json' } })).statusCode, 404, 'programs get a 404')
  t.equal((await app.inject('/app.js')).body, 'js')
  t.equal((await app.inject('/sub/x.txt')).body, 'x')
  const custom = await setup(t, { 'shell.html': 'shell' }, { spa: 'shell.html' })
  t.equal((await custom.inject({ url: '/route', headers: html })).body, 'shell')
  const gone = await setup(t, {}, { spa: true })
  t.equal((await gone.inject({ url: '/route', headers: html })).statusCode, 404, 'no page, no fallback')
})

function unzipNames (zip: Buffer): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'zip-'))
  try {
    writeFileSync(path.join(dir, 'a.zip'), zip)
    const out = execFileSync('python3', ['-c', 'import zipfile,sys,json; z=zipfile.ZipFile(sys.argv[1]); print(json.dumps({n: z.read(n).decode("latin1") for n in z.namelist()}))', path.join(dir, 'a.zip')], { encoding: 'utf8' })
    return JSON.parse(out)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function untarNames (tgz: Buffer): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tar-'))
  try {
    writeFileSync(path.join(dir, 'a.tgz'), tgz)
    mkdirp(path.join(dir, 'x'))
    execFileSync('tar', ['-xzf', path.join(dir, 'a.tgz'), '-C', path.join(dir, 'x')])
    const out: Record<string, string> = {}
    const walk = (d: string, rel: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
        if (e.isDirectory()) {
          out[rel + e.name + '/'] = ''
          walk(path.join(d, e.name), rel + e.name + '/')
        } else out[rel + e.name] = readFileSync(path.join(d, e.name), 'latin1')
      }
    }
    walk(path.join(dir, 'x'), '')
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function mkdirp (d: string): void { execFileSync('mkdir', ['-p', d]) }

t.test('folder downloads: zip and tar.gz hold exactly the visible files', async (t) => {
  const dir = t.testdir({
    outside: { 'secret.txt': 'SECRET' },
    www: {
      'a.txt': 'alpha',
      '.env': 'hidden',
      empty: {},
      'b c': { 'd.txt': 'delta', 'pic.png': 'png', again: t.fixture('symlink', '../b c') },
      'link-out': t.fixture('symlink', '../outside/secret.txt'),
      'link-in': t.fixture('symlink', 'a.txt'),
      // a link to a folder inside the root is listed, so it is archived too (under its own name)
      'sub-link': t.fixture('symlink', 'b c'),
      loop: t.fixture('symlink', '.')
    }
  })
  const app = await serve(t, path.join(dir, 'www'))
  t.ok((await app.inject({ url: '/', headers: { accept: 'application/json' } })).json().entries.some((e: { name: string }) => e.name === 'sub-link'), 'the listing shows sub-link')
  // links to a folder they are in (loop, b c/again) are left out: they would never end
  const expected = { 'a.txt': 'alpha', 'b c/': '', 'b c/d.txt': 'delta', 'b c/pic.png': 'png', 'empty/': '', 'link-in': 'alpha', 'sub-link/': '', 'sub-link/d.txt': 'delta', 'sub-link/pic.png': 'png' }
  const zip = await app.inject('/?download=zip')
  t.equal(zip.statusCode, 200)
  t.equal(zip.headers['content-type'], 'application/zip')
  t.equal(zip.headers['content-disposition'], 'attachment; filename=www.zip')
  t.same(unzipNames(zip.rawPayload), expected)
  const tgz = await app.inject('/?download=tar.gz')
  t.equal(tgz.headers['content-type'], 'application/gzip')
  t.same(untarNames(tgz.rawPayload), expected)
  const sub = await app.inject('/b%20c/?download=tar.gz')
  t.equal(sub.headers['content-disposition'], 'attachment; filename="b c.tar.gz"')
  t.same(untarNames(sub.rawPayload), { 'd.txt': 'delta', 'pic.png': 'png' })
  const head = await app.inject({ method: 'HEAD', url: '/?download=zip' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal((await app.inject('/?download=rar')).statusCode, 400)
  t.equal((await app.inject('/?download=zip&download=zip')).statusCode, 400)
  t.match((await app.inject('/')).body, '<form class="q"><input type="hidden" name="download" value="zip"><button>zip</button></form>', 'the listing offers them')
})

t.test('folder downloads: the query means what it decodes to', async (t) => {
  const app = await setup(t, { 'a.txt': 'aaaa' })
  for (const url of ['/?downloa%64=zip', '/?%64ownload=zip', '/?download=%7a%69%70', '/?x=1&download=zip']) {
    const res = await app.inject(url)
    t.equal(res.headers['content-type'], 'application/zip', url)
  }
  t.equal((await app.inject('/?Download=zip')).headers['content-type'], 'text/html; charset=utf-8', 'names are case-sensitive, as URLSearchParams has them')
})

t.test('folder downloads: limits and the off switch', async (t) => {
  const tree = { 'a.txt': 'aaaa', 'b.txt': 'bbbb', c: { 'd.txt': 'dddd' } }
  const few = await setup(t, tree, { archives: { maxEntries: 2 } })
  const res = await few.inject({ url: '/?download=zip', headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 403)
  t.match(res.json().message, 'more than 2 entries')
  const small = await setup(t, tree, { archives: { maxBytes: 10 } })
  t.match((await small.inject({ url: '/?download=tar.gz', headers: { accept: 'application/json' } })).json().message, 'more than 10 bytes')
  const deep = await setup(t, { a: { b: { c: { 'd.txt': 'd' } } } }, { archives: { maxDepth: 2 } })
  t.match((await deep.inject({ url: '/?download=zip', headers: { accept: 'application/json' } })).json(), { statusCode: 403, message: /more than 2 folders deep/ })
  t.equal((await deep.inject('/a/?download=tar.gz')).statusCode, 200, 'a folder less deep below it')
  const off = await setup(t, tree, { archives: false })
  t.equal((await off.inject('/?download=zip')).statusCode, 403)
  t.notMatch((await off.inject('/')).body, 'download=')
})

t.test('folder downloads: a client that goes away stops the work, and nothing leaks', async (t) => {
  const files: Record<string, Buffer> = {}
  for (let i = 0; i < 40; i++) files[`f${i}.bin`] = Buffer.alloc(1024 * 1024, i)
  const root = t.testdir(files)
  const app = Fastify()
  await app.register(serveDir, { root })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  for (const format of ['zip', 'tar.gz']) {
    const s = net.connect(port, '127.0.0.1')
    s.write(`GET /?download=${format} HTTP/1.1\r\nHost: x\r\n\r\n`)
    await new Promise((resolve) => s.once('data', resolve))
    s.destroy()
  }
  await waitFor(`descriptors back to ${before}`, () => fds() <= before + 1, PATIENCE)
  t.pass('descriptors released')
  const ok = await app.inject('/f1.bin')
  t.equal(ok.rawPayload.length, 1024 * 1024, 'still serving')
})

t.test('a zip of many small files comes in pieces of up to 64 KiB, not one for each header, and is whole', async (t) => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 3000; i++) files[`f${i}.txt`] = `file ${i}`
  const root = t.testdir({ many: files })
  const walker = new Walker(root, 'inside', false)
  const dir = path.join(root, 'many')
  const out = await archive('zip', walker.items(dir, statSync(dir), { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 64 }), true, new AbortController().signal)
  const chunks: Buffer[] = []
  for await (const chunk of out) chunks.push(chunk)
  const zip = Buffer.concat(chunks)
  // each file is three small writes and a record at the end: 12,000 pieces, were they sent as made
  t.ok(chunks.length <= Math.ceil(zip.length / 65536) + 1, `${chunks.length} pieces for ${zip.length} bytes`)
  const names = unzipNames(zip)
  t.equal(Object.keys(names).length, 3000, 'every file')
  t.equal(names['f2999.txt'], 'file 2999')
})

t.test('a file that shrinks while it is zipped fails the zip, and is closed', async (t) => {
  const root = t.testdir({ 'big.bin': Buffer.alloc(4 * 1024 * 1024, 1) })
  const walker = new Walker(root, 'inside', false)
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  const out = await archive('zip', walker.items(root, statSync(root), { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 64 }), true, new AbortController().signal)
  const failed = new Promise<Error>((resolve) => out.once('error', resolve))
  await new Promise((resolve) => out.once('data', resolve))
  out.pause()
  writeFileSync(path.join(root, 'big.bin'), '')
  out.resume()
  t.match((await failed).message, 'file shrank while being sent')
  await waitFor('the file closed', () => fds() <= before, PATIENCE)
})

t.test('a deep tree is walked with one folder open at a time, not one for each level', async (t) => {
  const root = t.testdir({})
  const levels = Array<string>(300).fill('d')
  mkdirSync(path.join(root, ...levels), { recursive: true })
  writeFileSync(path.join(root, ...levels, 'x.txt'), 'x')
  const inRoot = (): number => readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith(root) } catch { return false }
  }).length
  let most = 0
  let last = ''
  for await (const item of new Walker(root, 'inside', false).items(root, statSync(root), { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 300 })) {
    most = Math.max(most, inRoot())
    last = item.rel
  }
  t.equal(last, levels.join('/') + '/x.txt', 'the whole tree')
  t.equal(most, 1, 'one folder open at any time')
  const over = await new Walker(root, 'inside', false).count(root, statSync(root), { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 299 })
  t.same(over, { over: 'depth' })
})

t.test('bad options for the extras fail ready()', async (t) => {
  const root = t.testdir({})
  for (const [opts, what] of [
    [{ headers: { 'bad name': 'x' } }, 'headers'], [{ headers: { 'X-A': 'line\nbreak' } }, 'headers'], [{ headers: ['x'] }, 'headers'],
    [{ headers: { 'X-A': 1 } }, 'headers'], [{ cors: 1 }, 'cors'], [{ cors: [] }, 'cors'], [{ spa: '../x.html' }, 'spa'],
    [{ spa: '/etc/passwd' }, 'spa'], [{ spa: 3 }, 'spa'], [{ archives: 'yes' }, 'archives'], [{ archives: { maxBytes: -1 } }, 'archives'],
    [{ archives: { other: 1 } }, 'archives'], [{ archives: null }, 'archives'], [{ archives: { maxDepth: 1.5 } }, 'archives'],
    [{ archives: { maxDepth: -1 } }, 'archives']
  ] as const) {
    const app = Fastify()
    app.register(serveDir, { root, ...opts } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION', message: new RegExp(`"${what}"`) }, JSON.stringify(opts))
    await app.close()
  }
})

t.test('archives: the name of a mount\'s root; deny leaves links out; an aborted walk or archive stops', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', link: t.fixture('symlink', 'a.txt'), d: { 'b.txt': 'b' } })
  const mounted = Fastify()
  await mounted.register(serveDir, { root, prefix: '/pub', symlinks: 'deny' })
  t.teardown(() => mounted.close())
  const res = await mounted.inject('/pub/?download=tar.gz')
  t.equal(res.headers['content-disposition'], 'attachment; filename=pub.tar.gz')
  t.same(untarNames(res.rawPayload), { 'a.txt': 'a', 'd/': '', 'd/b.txt': 'b' }, 'no link under deny')

  const walker = new Walker(root, 'inside', false)
  const limits = { maxBytes: 1e9, maxEntries: 1e9, maxDepth: 64 }
  t.same(await walker.count(root, statSync(root), limits, () => true), { entries: 0, bytes: 0 }, 'an aborted walk stops at once')
  t.same(await walker.count(root, statSync(root), limits), { entries: 4, bytes: 3 }, 'a.txt, link (to a.txt), d/ and d/b.txt')
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  for (const format of ['zip', 'tar.gz'] as const) {
    const signal = AbortSignal.abort()
    const out = await archive(format, walker.items(root, statSync(root), limits), true, signal)
    await new Promise((resolve) => { out.on('error', resolve); out.on('close', resolve); out.resume() })
  }
  t.equal(fds(), before, 'an archive aborted before it began opens no file')
  // the client goes while a file is being opened (its path is read by the open); a big one, that
  // no buffer on the way takes whole
  const bigRoot = t.testdir({ 'big.bin': Buffer.alloc(4 * 1024 * 1024) })
  const bigWalker = new Walker(bigRoot, 'inside', false)
  for (const format of ['zip', 'tar.gz'] as const) {
    const ac = new AbortController()
    let item: WalkItem | undefined
    for await (const found of bigWalker.items(bigRoot, statSync(bigRoot), limits)) item = found
    if (item === undefined) throw new Error('big.bin is walked')
    const leaving = { ...item, get path () { ac.abort(); return (item as WalkItem).path } }
    const out = await archive(format, (async function * () { yield leaving })(), true, ac.signal)
    await new Promise((resolve) => { out.on('error', resolve); out.on('close', resolve); out.resume() })
    await waitFor('the file opened as the client went is closed', () => fds() === before, PATIENCE)
  }
  t.pass('a file opened as the client went is closed')
})

t.test('a combined PEM (key in the certificate file) and what is not CORS', async (t) => {
  const dir = t.testdir({})
  const cert = path.join(dir, 'c.pem')
  const key = path.join(dir, 'k.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  writeFileSync(path.join(dir, 'both.pem'), readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'))
  const tls = readTls({ cert: path.join(dir, 'both.pem') })
  t.equal(tls.key, tls.cert, 'the key comes from the certificate file, as in Python')
  for (const cors of [['a', 1], '']) {
    const app = Fastify()
    app.register(serveDir, { root: dir, cors } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION' })
    await app.close()
  }
  const spa = await setup(t, { 'index.html': 'page' }, { spa: true })
  t.equal((await spa.inject('/route')).statusCode, 404, 'no Accept: no page')
})

t.test('folder downloads: names a zip cannot hold stay out of it, the tar.gz keeps them, nothing crashes', async (t) => {
  const dir = t.testdir({ 'a\\b.txt': 'backslash', a: { 'b.txt': 'slash' }, 'C:x.txt': 'drive', '\\lead.txt': 'lead', 'ok.txt': 'ok', 'd\\e': { 'f.txt': 'inside' }, 'note:ok.txt': 'scheme', 'a:b': { 'c.txt': 'c' }, 'x:': 'colon' })
  const app = await serve(t, dir)
  const zip = await app.inject('/?download=zip')
  t.equal(zip.statusCode, 200)
  // zip-stream cuts a leading `word:` from a name: 'note:ok.txt' would be a second ok.txt
  t.same(unzipNames(zip.rawPayload), { 'a/': '', 'a/b.txt': 'slash', 'ok.txt': 'ok' }, 'one a/b.txt and one ok.txt, the real ones')
  const comment = execFileSync('python3', ['-c', 'import zipfile,sys,io; print(zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).comment.decode())'], { input: zip.rawPayload, encoding: 'utf8' })
  t.match(comment, /^9 entries are not in this zip/, 'the zip says what it left out')
  t.same(untarNames((await app.inject('/?download=tar.gz')).rawPayload), {
    'C:x.txt': 'drive', 'a/': '', 'a/b.txt': 'slash', 'a\\b.txt': 'backslash', 'd\\e/': '', 'd\\e/f.txt': 'inside', '\\lead.txt': 'lead', 'ok.txt': 'ok', 'note:ok.txt': 'scheme', 'a:b/': '', 'a:b/c.txt': 'c', 'x:': 'colon'
  })
  t.equal((await app.inject('/ok.txt')).body, 'ok', 'still serving')
})

t.test('folder downloads are logged when sent, with what a zip left out; HEAD sends none', async (t) => {
  const root = t.testdir({ 'ok.txt': 'ok', 'a\\b.txt': 'x' })
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (l: string) => { lines.push(JSON.parse(l)) } } } })
  await app.register(serveDir, { root })
  t.teardown(() => app.close())
  await app.inject({ method: 'HEAD', url: '/?download=zip' })
  t.equal(lines.filter((l) => l.msg === 'folder download').length, 0, 'HEAD: nothing sent, nothing logged')
  await app.inject('/?download=zip')
  await app.inject('/?download=tar.gz')
  t.match(lines.filter((l) => l.msg === 'folder download'), [{ format: 'zip', entries: 1, leftOut: 1 }, { format: 'tar.gz', entries: 2 }])
})
