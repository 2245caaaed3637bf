import t from 'tap'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import * as helper from 'fastify-cli/helper.js'
import { AppPath, build, captureLogs, rawRequest, waitFor } from '../helper'
import { options as appOptions } from '../../app'
import { HEALTH_PATH, READY_PATH } from '../../routes/health'
import { misplacedRoot, startArguments } from '../../plugins/serve-dir'
import net from 'node:net'
import http from 'node:http'
import { once } from 'node:events'

t.test('the app answers every method Node parses other than GET and HEAD with a 405 on a served path', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  const app = await build(t, ['--root', root])
  for (const method of ['POST', 'PROPFIND', 'PURGE', 'MKCOL', 'LOCK', 'SEARCH', 'TRACE'] as const) {
    const res = await app.inject({ method: method as 'GET', url: '/a.txt' })
    t.equal(res.statusCode, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD', method)
  }
})

t.test('--root serves that folder', async (t) => {
  const root = t.testdir({ 'index.html': 'home', sub: { 'a.txt': 'a' } })
  const app = await build(t, ['--root', root])
  t.equal((await app.inject('/')).body, 'home')
  t.equal((await app.inject('/sub')).headers.location, 'sub/')
  t.match((await app.inject('/sub/')).body, 'Directory listing for /sub/')
})

t.test('without npm (fastify start itself), --root and the default are relative to the working directory', async (t) => {
  const dir = t.testdir({ www: { 'a.txt': 'in www' }, 'top.txt': 'in cwd' })
  t.chdir(dir)
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.INIT_CWD
  t.intercept(process, 'env', { value: env })
  const rel = await build(t, ['--root', 'www'])
  t.equal((await rel.inject('/a.txt')).body, 'in www')
  const cwd = await build(t)
  t.equal((await cwd.inject('/top.txt')).body, 'in cwd')
})

t.test('--root among fastify-cli\'s own arguments (npm start -- --root, one --) fails ready() with a hint', async (t) => {
  t.equal(misplacedRoot(['-p', '3000', 'dist/app.js', '--root', 'www']), true)
  t.equal(misplacedRoot(['dist/app.js', '--root=www']), true)
  t.equal(misplacedRoot(['dist/app.js', '--', '--root', 'www']), false, 'after -- it is the app\'s')
  t.equal(misplacedRoot(['-p', '3000', 'dist/app.js']), false)
  // fastify-cli empties process.argv: the arguments come from /proc/self/cmdline (the real npm start: test/e2e/smoke.test.ts)
  t.same(startArguments(() => 'node\0fastify\0start\0dist/app.js\0--root\0www\0'), ['start', 'dist/app.js', '--root', 'www'])
  t.same(startArguments(() => { throw new Error('ENOENT: no /proc here') }), process.argv.slice(2), 'elsewhere: process.argv')
  t.equal(startArguments().length >= 1, true, 'this process\'s own, from /proc')
})

t.test('$ROOT is the folder when --root is not given', async (t) => {
  const dir = t.testdir({ 'env.txt': 'from env' })
  t.intercept(process, 'env', { value: { ...process.env, ROOT: dir } })
  const app = await build(t)
  t.equal((await app.inject('/env.txt')).body, 'from env')
})

t.test('npm start serves the folder it was typed in ($INIT_CWD), and --root is relative to it', async (t) => {
  const typedIn = t.testdir({ 'here.txt': 'where npm start was typed', www: { 'w.txt': 'www' } })
  const env: NodeJS.ProcessEnv = { ...process.env, INIT_CWD: typedIn }
  delete env.ROOT
  t.intercept(process, 'env', { value: env })
  t.equal((await (await build(t)).inject('/here.txt')).body, 'where npm start was typed', 'not the package folder npm runs scripts in')
  t.equal((await (await build(t, ['--root', 'www'])).inject('/w.txt')).body, 'www')
})

t.test('plugin options arrive as command-line strings', async (t) => {
  const root = t.testdir({ 'index.html': 'page', 'b.html': 'b page', '.env': 'dot', sub: { 'x.txt': 'x' }, link: t.fixture('symlink', 'b.html') })
  const noList = await build(t, ['--root', root, '--listing', 'false'])
  t.equal((await noList.inject('/sub/')).statusCode, 404)
  const list = await build(t, ['--root', root, '--listing', 'true'])
  t.equal((await list.inject('/sub/')).statusCode, 200)
  const noIndex = await build(t, ['--root', root, '--index', 'false'])
  t.match((await noIndex.inject('/')).body, 'Directory listing for /')
  const custom = await build(t, ['--root', root, '--index', 'missing.html,b.html'])
  t.equal((await custom.inject('/')).body, 'b page')
  const dots = await build(t, ['--root', root, '--dotfiles', 'allow'])
  t.equal((await dots.inject('/.env')).body, 'dot')
  const deny = await build(t, ['--root', root, '--symlinks', 'deny'])
  t.equal((await deny.inject('/link')).statusCode, 404)
  const prefixed = await build(t, ['--root', root, '--prefix', '/files'])
  t.equal((await prefixed.inject('/files/b.html')).body, 'b page')
})

t.test('--prefix as fastify start passes it (no skipOverride): the folder under it, our 404 page outside', async (t) => {
  const root = t.testdir({ 'b.html': 'b page' })
  const app = await helper.build([AppPath, '--', '--root', root, '--prefix', '/files'], {}, { ...appOptions }) as unknown as FastifyInstance
  t.teardown(() => app.close())
  t.equal((await app.inject('/files/b.html')).body, 'b page')
  const outside = await app.inject('/b.html')
  t.equal(outside.statusCode, 404)
  t.match(outside.headers['content-type'], 'text/html', 'the app\'s own 404 page, not Fastify\'s JSON')
})

t.test('numbers and switches from the command line', async (t) => {
  const root = t.testdir({ 'a.css': 'a{}'.repeat(100) })
  const app = await build(t, ['--root', root, '--max-age', '3600', '--immutable', '--compress', 'false', '--precompressed', 'true', '--compress-threshold', '10', '--cache-bytes', '0'])
  const res = await app.inject({ url: '/a.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(res.headers['cache-control'], 'public, max-age=3600, immutable')
  t.notOk(res.headers['content-encoding'], '--compress false')
  await t.rejects(build(t, ['--root', root, '--max-age', 'soon']), { code: 'FST_SERVE_DIR_INVALID_OPTION' })
})

t.test('a bad option stops the app with the plugin\'s error', async (t) => {
  const root = t.testdir({})
  await t.rejects(build(t, ['--root', root, '--dotfiles', 'maybe']), { code: 'FST_SERVE_DIR_INVALID_OPTION' })
  await t.rejects(build(t, ['--root', path.join(root, 'missing')]), { code: 'FST_SERVE_DIR_INVALID_ROOT' })
})

t.test('the health route answers and cannot shadow a served file', async (t) => {
  const root = t.testdir({ health: 'my file called health', '.serve-dir': { health: 'hidden' } })
  const app = await build(t, ['--root', root])
  const res = await app.inject(HEALTH_PATH)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
  t.equal((await app.inject('/health')).body, 'my file called health')
})

t.test('outside the mount, 404s and bad URLs are negotiated too', async (t) => {
  const root = t.testdir({})
  const app = await build(t, ['--root', root, '--prefix', '/files'])
  const html = await app.inject('/elsewhere')
  t.equal(html.statusCode, 404)
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  const js = await app.inject({ url: '/elsewhere', headers: { accept: 'application/json' } })
  t.same(js.json(), { statusCode: 404, code: 'FST_SERVE_DIR_NOT_FOUND', error: 'Not Found', message: 'Not found' })
  const bad = await app.inject({ url: '/%zz', headers: { accept: 'application/json' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'FST_ERR_BAD_URL')
})

t.test('one JSON log line per request: method, url, status, bytes, time', async (t) => {
  const root = t.testdir({ 'a.txt': 'hello' })
  const { stream, lines } = captureLogs()
  const app = await build(t, ['--root', root], { logger: { level: 'info', stream } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  t.equal(await (await fetch(base + '/a.txt')).text(), 'hello')
  t.equal((await fetch(base + '/missing')).status, 404)
  t.equal((await fetch(base + HEALTH_PATH)).status, 200)
  t.equal((await fetch(base + '/%zz')).status, 400)
  // the line is written when the response has gone out, which the client may see first
  await waitFor('the last request\'s log line', () => lines.some((l) => l.msg === 'request completed' && l.url === '/%zz'))
  const requests = lines.filter((l) => l.msg === 'request completed')
  t.equal(requests.length, 3, 'health checks stay out of the log')
  t.match(requests[2], { url: '/%zz', statusCode: 400 })
  t.ok((requests[2].bytes as number) > 100 && (requests[2].bytes as number) < 1000, `bytes of that response only: ${requests[2].bytes}`)
  t.match(requests[0], { level: 30, method: 'GET', url: '/a.txt', statusCode: 200, bytes: Number, responseTime: Number, reqId: String })
  t.ok((requests[0].bytes as number) > 100 && (requests[0].bytes as number) < 1000, `bytes count headers and body: ${requests[0].bytes}`)
  t.match(requests[1], { url: '/missing', statusCode: 404 })
  t.notOk(lines.some((l) => l.msg === 'incoming request'), 'no second line per request')
  t.notOk(JSON.stringify(lines).includes('hello'), 'never file contents')
})

t.test('readiness: 200 while serving, refused once shutting down, while a download finishes', async (t) => {
  const root = t.testdir({})
  const { writeFileSync } = await import('node:fs')
  writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(32 * 1024 * 1024))
  const app = await build(t, ['--root', root])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  t.equal((await rawRequest(port, READY_PATH)).statusCode, 200)
  const download = net.connect(port, '127.0.0.1')
  t.teardown(() => { download.destroy() })
  download.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(download, 'data')
  download.pause()
  const closed = app.close()
  // close() stops listening after its hooks have run: wait for that, not for a turn of the loop
  await waitFor('the server to stop listening', () => !app.server.listening)
  // no longer listening: a probe is refused (one on a busy keep-alive connection would get a 503)
  const probe = await rawRequest(port, READY_PATH).catch((err: NodeJS.ErrnoException) => err.code)
  t.equal(probe, 'ECONNREFUSED', 'not ready while shutting down')
  let bytes = 0
  download.on('data', (d: Buffer) => { bytes += d.length })
  const ended = once(download, 'end')
  download.resume()
  await closed
  await ended
  t.ok(bytes > 30 * 1024 * 1024, `the download under way finished: ${bytes} bytes`)
})

t.test('headers, CORS, SPA and downloads from the command line', async (t) => {
  const root = t.testdir({ 'index.html': 'app shell', 'a.txt': 'a' })
  const app = await build(t, ['--root', root, '--header', 'X-A: 1', '--header', 'X-B: two words', '--cors', 'http://a.example', '--spa', '--archives', 'false'])
  const res = await app.inject({ url: '/a.txt', headers: { origin: 'http://a.example' } })
  t.equal(res.headers['x-a'], '1')
  t.equal(res.headers['x-b'], 'two words')
  t.equal(res.headers['access-control-allow-origin'], 'http://a.example')
  t.equal((await app.inject({ url: '/some/route', headers: { accept: 'text/html' } })).body, 'app shell')
  t.equal((await app.inject('/?download=zip')).statusCode, 403)
  const one = await build(t, ['--root', root, '--header', 'X-Only: 1', '--spa', 'a.txt'])
  t.equal((await one.inject('/a.txt')).headers['x-only'], '1')
  t.equal((await one.inject({ url: '/r', headers: { accept: 'text/html' } })).body, 'a')
  await t.rejects(build(t, ['--root', root, '--header', 'no colon']), { code: 'FST_SERVE_DIR_INVALID_OPTION' })
})

t.test('--live-reload true from the command line, with --allowed-host naming the machine for its stream', async (t) => {
  const root = t.testdir({ 'index.html': '<body></body>' })
  const app = await build(t, ['--root', root, '--live-reload', 'true', '--allowed-host', 'dev.test'])
  const page = await app.inject({ url: '/', headers: { 'sec-fetch-dest': 'document' } })
  t.match(page.body, /<script src="\/\.serve-dir\/live-[\w-]+\.js" defer="defer"><\/script><\/body>/)
  t.equal((await app.inject({ url: '/.serve-dir/live', headers: { host: 'evil.example' } })).statusCode, 403, 'another name')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/.serve-dir/live', headers: { host: `dev.test:${port}` } }, resolve)
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
  t.equal(res.statusCode, 200, '--allowed-host')
  t.equal(res.headers['content-type'], 'text/event-stream')
  res.destroy()
})

t.test('--upload from the command line: alone it opens /, repeated it opens each path; a refused 100-continue sends no 100', async (t) => {
  const root = t.testdir({ a: {}, b: {}, c: {} })
  const all = await build(t, ['--root', root, '--upload'])
  t.equal((await all.inject({ method: 'PUT', url: '/c/x.txt', payload: 'x' })).statusCode, 201)
  t.equal(all.server.requestTimeout, 0, 'an upload is cut when it stalls, not after requestTimeout')
  const some = await build(t, ['--root', root, '--upload', '/a', '--upload', '/b', '--allowed-host', 'nas.lan'])
  t.equal((await some.inject({ method: 'PUT', url: '/b/x.txt', payload: 'x', headers: { host: 'nas.lan:3000' } })).statusCode, 201, '--allowed-host')
  t.equal((await some.inject({ method: 'PUT', url: '/c/y.txt', payload: 'x' })).statusCode, 403, 'not an upload path')
  t.equal((await some.inject({ method: 'PUT', url: '/a/y.txt', payload: 'x', headers: { host: 'evil.example' } })).statusCode, 403, 'another name')
  const off = await build(t, ['--root', root, '--upload', 'false'])
  t.equal((await off.inject({ method: 'PUT', url: '/a/z.txt', payload: 'x' })).statusCode, 405, '--upload false: off')

  await all.listen({ port: 0, host: '127.0.0.1' })
  const socket = net.connect({ port: (all.server.address() as AddressInfo).port, host: '127.0.0.1' })
  let text = ''
  socket.on('data', (c) => { text += c.toString('latin1') })
  socket.write('PUT /c/x.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n')
  await once(socket, 'close')
  t.match(text, /^HTTP\/1\.1 409 /, 'the refusal, first')
  t.notMatch(text, '100 Continue', 'and never a 100')
})
