// Live reload on a bare Fastify with real folders: which answers get the script and how they stay
// right as HTTP (length, ETag, 304, HEAD, codings, no ranges, no sidecars), the script itself, and
// the event stream (its headers, its events, who may open it, its pings and its end at shutdown).
import t, { type Test } from 'tap'
import http from 'node:http'
import zlib from 'node:zlib'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import serveDir, { type ServeDirOptions } from '../../lib/serve-dir'
import { PATIENCE, serve } from '../helper'
import { LiveReload, type MakeWatcher } from '../../lib/serve-dir/live/route'

const PAGE = '<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>\n'
const NAV = { 'sec-fetch-dest': 'document', accept: 'text/html' }
const SETTINGS = { ignore: [], debounceMs: 10, allowedHosts: [], maxFolders: 100, maxStreams: 100, maxStreamsPerClient: 10 }
const TAG = /<script src="\/\.serve-dir\/live-[\w-]{12}\.js" defer="defer"><\/script>/

async function live (t: Test, root: string, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  return await serve(t, root, { liveReload: { debounceMs: 30 }, ...opts })
}

t.test('options: liveReload is off by default, and a bad value fails ready() with a named error', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  const off = await serve(t, root)
  const page = await off.inject({ url: '/', headers: NAV })
  t.equal(page.body, PAGE, 'off: the page as it is')
  t.equal((await off.inject('/.serve-dir/live')).statusCode, 404, 'off: no stream')
  for (const liveReload of ['yes', 1, null, [], { ignore: 'x' }, { ignore: [''] }, { debounceMs: -1 }, { allowedHosts: ['a b'] }, { soon: true },
    { maxFolders: -1 }, { maxStreams: 1.5 }, { maxStreamsPerClient: '10' }]) {
    const app = Fastify()
    app.register(serveDir, { root, liveReload } as unknown as ServeDirOptions)
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION', message: /"liveReload(\.\w+)?"/ }, JSON.stringify(liveReload))
    await app.close()
  }
})

t.test('a page a browser navigates to gets the script, with HTTP that stays right', async (t) => {
  const root = t.testdir({ 'index.html': PAGE, 'plain.txt': 'text', sub: { 'page.htm': '<p>no tags' } })
  const app = await live(t, root)
  const res = await app.inject({ url: '/', headers: NAV })
  t.equal(res.statusCode, 200)
  t.match(res.body, TAG)
  const tag = (TAG.exec(res.body) as RegExpExecArray)[0]
  t.equal(res.body, PAGE.replace('</body>', tag + '</body>'), 'the tag before </body>, nothing else changed')
  t.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)), 'the length of what is sent')
  t.match(res.headers.etag, /^"[\w-]+"$/, 'a strong tag of its own')
  t.equal(res.headers['accept-ranges'], undefined, 'no ranges offered')
  t.equal(res.headers['last-modified'], undefined, 'no date that would validate the page without the tag')
  t.match(res.headers.vary, /Sec-Fetch-Dest/)
  t.match(res.headers.vary, /Accept\b/)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-cache')

  const head = await app.inject({ method: 'HEAD', url: '/', headers: NAV })
  t.equal(head.body, '')
  for (const h of ['content-length', 'etag', 'content-type', 'vary']) t.equal(head.headers[h], res.headers[h], `HEAD: the same ${h}`)

  const again = await app.inject({ url: '/', headers: { ...NAV, 'if-none-match': res.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal(again.headers.etag, res.headers.etag)
  const byDate = await app.inject({ url: '/', headers: { ...NAV, 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() } })
  t.equal(byDate.statusCode, 200, 'a date alone validates nothing')
  t.equal((await app.inject({ url: '/', headers: { ...NAV, 'if-match': '"other"' } })).statusCode, 412)
  t.equal((await app.inject({ url: '/', headers: { ...NAV, 'if-match': `"x", ${res.headers.etag as string}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/', headers: { ...NAV, 'if-match': '*' } })).statusCode, 200)

  const fragment = await app.inject({ url: '/sub/page.htm', headers: { 'sec-fetch-dest': 'iframe' } })
  t.equal(fragment.body, '<p>no tags' + tag, 'a frame: at the end of a page with neither </body> nor </html>')
  t.equal((await app.inject({ url: '/', headers: { accept: 'text/html,*/*' } })).body.includes(tag), true,
    'no Fetch Metadata: Accept says a page')
  t.equal((await app.inject({ url: '/plain.txt', headers: NAV })).body, 'text', 'text is not a page')
})

t.test('what gets no script: fetch(), other clients, ranges, downloads, opted-out and UTF-16 pages', async (t) => {
  const big = '<body>' + 'x'.repeat(8 * 1024 * 1024) + '</body>'
  const root = t.testdir({
    'index.html': PAGE,
    'out.html': '<html data-serve-dir-no-reload><body></body></html>',
    'wide.html': Buffer.from('\ufeff<body>é</body>', 'utf16le'),
    'big.html': big
  })
  const app = await live(t, root)
  const plain = async (url: string, headers: Record<string, string>): Promise<void> => {
    const res = await app.inject({ url, headers })
    t.notMatch(res.body, TAG, `${url} ${JSON.stringify(headers)}`)
    t.equal(res.headers['accept-ranges'], 'bytes', 'as the file is: ranges offered')
    t.match(res.headers.etag, /^W\//, "and send's tag")
  }
  await plain('/', { 'sec-fetch-dest': 'empty', accept: 'text/html' })
  await plain('/', { accept: '*/*' })
  await plain('/', {})
  await plain('/out.html', NAV)
  await plain('/wide.html', NAV)
  await plain('/big.html', NAV)
  const range = await app.inject({ url: '/', headers: { ...NAV, range: 'bytes=0-4' } })
  t.equal(range.statusCode, 206)
  t.equal(range.body, PAGE.slice(0, 5))
  t.match(range.headers.vary, /Sec-Fetch-Dest/, 'a page varies on what asked for it, ranges too')

  const downloads = await live(t, root, { downloadHtml: true })
  const res = await downloads.inject({ url: '/', headers: NAV })
  t.notMatch(res.body, TAG, 'downloadHtml: pages are attachments, not pages')
  t.match(res.headers['content-disposition'], /attachment/)

  const uploads = await live(t, root, { uploads: { paths: ['/'] } })
  const sandboxed = await uploads.inject({ url: '/', headers: NAV })
  t.notMatch(sandboxed.body, TAG, 'under an upload path pages run sandboxed, where they could not listen')
  t.match(sandboxed.headers['content-security-policy'], /^sandbox/)
})

t.test('turning live reload on or off never earns a stale 304', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  const on = await live(t, root)
  const off = await serve(t, root)
  const withTag = await on.inject({ url: '/', headers: NAV })
  const without = await off.inject({ url: '/', headers: NAV })
  t.not(withTag.headers.etag, without.headers.etag)
  const revalidate = (res: typeof withTag): Record<string, string> =>
    ({ ...NAV, 'if-none-match': res.headers.etag as string, 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() })
  const turnedOff = await off.inject({ url: '/', headers: revalidate(withTag) })
  t.equal(turnedOff.statusCode, 200, 'off after on: the page without the tag')
  t.equal(turnedOff.body, PAGE)
  const turnedOn = await on.inject({ url: '/', headers: revalidate(without) })
  t.equal(turnedOn.statusCode, 200, 'on after off: the page with the tag')
  t.match(turnedOn.body, TAG)
  writeFileSync(path.join(root, 'index.html'), PAGE.replace('hello', 'bye'))
  const edited = await on.inject({ url: '/', headers: revalidate(withTag) })
  t.equal(edited.statusCode, 200, 'an edit changes the tag')
  t.match(edited.body, /bye/)
})

t.test('codings: compressed after the tag, its own coded tag, never a sidecar', async (t) => {
  const page = PAGE.replace('hello', 'hello '.repeat(400))
  const root = t.testdir({ 'index.html': page, 'index.html.br': 'stale sidecar', 'index.html.gz': 'stale sidecar' })
  const app = await live(t, root)
  const identity = await app.inject({ url: '/', headers: NAV })
  for (const [coding, decode] of [['br', zlib.brotliDecompressSync], ['gzip', zlib.gunzipSync]] as const) {
    const res = await app.inject({ url: '/', headers: { ...NAV, 'accept-encoding': coding } })
    t.equal(res.headers['content-encoding'], coding)
    t.equal(decode(res.rawPayload).toString(), identity.body, `${coding}: the tagged page, not the sidecar`)
    t.equal(res.headers['content-length'], String(res.rawPayload.length))
    t.equal(res.headers.etag, (identity.headers.etag as string).slice(0, -1) + `-${coding}"`)
    t.match(res.headers.vary, /Accept-Encoding/)
    const head = await app.inject({ method: 'HEAD', url: '/', headers: { ...NAV, 'accept-encoding': coding } })
    t.equal(head.headers['content-length'], res.headers['content-length'], `${coding}: HEAD has GET's length`)
    const fresh = await app.inject({ url: '/', headers: { ...NAV, 'accept-encoding': coding, 'if-none-match': res.headers.etag as string } })
    t.equal(fresh.statusCode, 304)
    const other = await app.inject({ url: '/', headers: { ...NAV, 'accept-encoding': coding, 'if-none-match': identity.headers.etag as string } })
    t.equal(other.statusCode, 200, "the identity's tag does not validate a coded body")
  }
  const none = await live(t, root, { compress: false })
  const res = await none.inject({ url: '/', headers: { ...NAV, 'accept-encoding': 'br' } })
  t.equal(res.headers['content-encoding'], undefined, 'compress: false: as it is')
  t.match(res.body, TAG)
})

t.test("the single-page app's page and listings get it too; the script is served", async (t) => {
  const root = t.testdir({ app: { 'index.html': PAGE }, list: { 'a.txt': 'a' } })
  const spa = await live(t, path.join(root, 'app'), { spa: true })
  t.match((await spa.inject({ url: '/some/route', headers: NAV })).body, TAG, 'the spa page')
  const app = await live(t, root)
  const listing = await app.inject({ url: '/list/', headers: NAV })
  const src = /<script src="(\.\.\/\.serve-dir\/live-[\w-]{12}\.js)" defer><\/script>/.exec(listing.body)
  t.ok(src, 'the listing links the script')
  const script = await app.inject(new URL((src as RegExpExecArray)[1], 'http://x/list/').pathname)
  t.equal(script.statusCode, 200)
  t.equal(script.headers['content-type'], 'text/javascript; charset=utf-8')
  t.match(script.headers['cache-control'], /immutable/)
  t.match(script.body, /EventSource/)
  t.notMatch((await (await serve(t, root)).inject({ url: '/list/', headers: NAV })).body, /live-/, 'off: no script in listings')

  const mounted = await live(t, root, { prefix: '/files' })
  const page = await mounted.inject({ url: '/files/app/', headers: NAV })
  t.match(page.body, /<script src="\/files\/\.serve-dir\/live-[\w-]{12}\.js" defer="defer">/, 'below a prefix')
})

/** An event stream read over a real socket: its status, headers, and each event as it comes. */
interface Stream {
  res: http.IncomingMessage
  text: () => string
  next: (event: string) => Promise<Record<string, unknown>>
  ended: Promise<void>
  close: () => void
}

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

async function openStream (t: Test, port: number, headers: Record<string, string> = {}, url = '/.serve-dir/live'): Promise<Stream> {
  return await new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, headers }, (res) => {
      let text = ''
      let seen = 0
      const waiting: Array<() => void> = []
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
        for (const w of waiting.splice(0)) w()
      })
      const ended = new Promise<void>((resolve) => { res.once('close', resolve) })
      const next = async (event: string): Promise<Record<string, unknown>> => {
        const deadline = Date.now() + 20_000
        for (;;) {
          const blocks = text.split('\n\n')
          for (let i = seen; i < blocks.length - 1; i++) {
            const m = /^event: (\w+)\ndata: (.*)$/m.exec(blocks[i])
            if (m !== null && m[1] === event) {
              seen = i + 1
              return JSON.parse(m[2]) as Record<string, unknown>
            }
          }
          if (Date.now() > deadline) throw new Error(`no ${event} event in 20 s; got ${JSON.stringify(text)}`)
          await new Promise<void>((resolve) => {
            waiting.push(resolve)
            // a ref'd timer: while nothing else is pending it keeps the wait (and the test) alive
            setTimeout(resolve, 1000)
          })
        }
      }
      resolve({ res, text: () => text, next, ended, close: () => { req.destroy() } })
    })
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
}

t.test('the event stream: its headers, a hello, then what changed', async (t) => {
  const root = t.testdir({ 'index.html': PAGE, 'style.css': 'p {}', sub: {} })
  const app = await live(t, root)
  const port = await listen(app)
  const s = await openStream(t, port)
  t.equal(s.res.statusCode, 200)
  t.equal(s.res.headers['content-type'], 'text/event-stream')
  t.equal(s.res.headers['cache-control'], 'no-store, no-transform')
  t.equal(s.res.headers['content-encoding'], undefined, 'never compressed')
  const hello = await s.next('hello')
  t.match(hello.id, /^[\w-]{36}$/)
  t.match(s.text(), /^retry: \d+\n\n/, 'tells how soon to come back')
  writeFileSync(path.join(root, 'style.css'), 'p { color: red }')
  t.same(await s.next('change'), { css: true, paths: ['/style.css'] })
  writeFileSync(path.join(root, 'sub', 'a b.html'), PAGE)
  t.same(await s.next('change'), { css: false, paths: ['/sub/a%20b.html'] }, 'paths are URL paths')
  const second = await openStream(t, port)
  t.same(await second.next('hello'), hello, 'one server, one id')
})

t.test('below a prefix, the stream and its paths are there too', async (t) => {
  const root = t.testdir({ 'a.html': PAGE })
  const app = await live(t, root, { prefix: '/files' })
  const s = await openStream(t, await listen(app), {}, '/files/.serve-dir/live')
  await s.next('hello')
  writeFileSync(path.join(root, 'a.html'), PAGE + ' ')
  t.same(await s.next('change'), { css: false, paths: ['/files/a.html'] })
})

t.test('the stream refuses other sites and names that are not this machine (DNS rebinding)', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  const app = await live(t, root, { liveReload: { allowedHosts: ['Dev.Test'] }, cors: true })
  const port = await listen(app)
  const refused: Array<Record<string, string>> = [
    { origin: 'http://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { host: 'evil.example' },
    { host: `attacker.com:${port}` }
  ]
  for (const headers of refused) {
    const s = await openStream(t, port, { accept: 'application/json', ...headers })
    t.equal(s.res.statusCode, 403, JSON.stringify(headers))
    t.equal(s.res.headers['access-control-allow-origin'], undefined, 'CORS never applies')
    await s.ended
    t.match(JSON.parse(s.text()), { code: 'FST_SERVE_DIR_CROSS_SITE' })
  }
  const allowed: Array<Record<string, string>> = [{}, { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, { host: `dev.test:${port}` }, { host: `localhost:${port}` }]
  for (const headers of allowed) {
    const s = await openStream(t, port, headers)
    t.equal(s.res.statusCode, 200, JSON.stringify(headers))
    t.equal(s.res.headers['access-control-allow-origin'], undefined, 'CORS never applies')
    s.close()
  }
  t.equal((await app.inject('/index.html')).headers['access-control-allow-origin'], '*', 'files keep their CORS')
})

t.test('a ping keeps the stream open past the idle timeout', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  // connectionTimeout: 600 ms of silence and the socket is cut; the pings come every 200 ms
  const app = Fastify({ connectionTimeout: 600 })
  await app.register(serveDir, { root, liveReload: true })
  t.teardown(() => app.close())
  const s = await openStream(t, await listen(app))
  await s.next('hello')
  let open = true
  s.ended.then(() => { open = false }, () => { open = false })
  const started = Date.now()
  while (Date.now() - started < 2000) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.ok(open, 'still open') || t.bailout('the stream was cut')
    if (!open) break
  }
  t.ok(open, 'open after more than three idle timeouts')
  t.ok((s.text().match(/^: ping$/gm) ?? []).length >= 3, 'pinged')
})

t.test('a login guards the stream; closing the server ends every stream at once', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  const app = await live(t, root, { auth: { token: 'a'.repeat(22) } })
  const port = await listen(app)
  t.equal((await openStream(t, port)).res.statusCode, 401)
  // logged in by the token link, as a browser would be
  const login = await app.inject(`/?token=${'a'.repeat(22)}`)
  const cookie = String(login.headers['set-cookie']).split(';')[0]
  const open = await Promise.all([1, 2, 3].map(async () => await openStream(t, port, { cookie })))
  for (const s of open) {
    t.equal(s.res.statusCode, 200)
    await s.next('hello')
  }
  const started = Date.now()
  await app.close()
  // held by a stream, the close would wait for as long as the stream lasts: forever
  t.ok(Date.now() - started < PATIENCE, `closed in ${Date.now() - started} ms, not held by the streams`)
  await Promise.all(open.map(async (s) => await s.ended))
  t.pass('every stream ended')
})

t.test('a tree too large to be watched within the wait: registering goes on, with a line saying so', async (t) => {
  const root = t.testdir({})
  const infos: string[] = []
  let closed = false
  // a watcher still reading the tree: never done while the test runs
  const makeWatcher: MakeWatcher = () => ({ start: async () => await new Promise(() => {}), close: async () => { closed = true } })
  const quiet = (): void => {}
  const live = new LiveReload(SETTINGS, { realRoot: root, symlinks: 'inside', showHidden: false },
    [], { info: (_o, msg) => { infos.push(msg) }, warn: quiet, error: quiet }, 0, 50, makeWatcher)
  await live.start()
  t.match(infos, [/still being read/])
  await live.close()
  t.equal(closed, true, 'the watcher is closed with the server')
})
