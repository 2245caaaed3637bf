import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import serveDir from '../../lib/serve-dir'
import { link, setup } from '../helper'

const json = { accept: 'application/json' }

t.test('a file: 200 with type, length and validators; HEAD has the same headers and no body', async (t) => {
  const app = await setup(t, { 'a.txt': 'hello', 'data.unknownext': 'x', README: 'r', 'page.html': '<p>' })
  const res = await app.inject('/a.txt')
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'hello')
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(res.headers['content-length'], '5')
  t.ok(res.headers['last-modified'])
  t.ok(res.headers.etag)
  t.equal(res.headers['accept-ranges'], 'bytes')

  const head = await app.inject({ method: 'HEAD', url: '/a.txt' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  for (const h of ['content-type', 'content-length', 'last-modified', 'etag']) t.equal(head.headers[h], res.headers[h], h)

  t.equal((await app.inject('/data.unknownext')).headers['content-type'], 'application/octet-stream')
  t.equal((await app.inject('/README')).headers['content-type'], 'application/octet-stream')
  t.equal((await app.inject('/page.html')).headers['content-type'], 'text/html; charset=utf-8')
})

t.test('Range comes from @fastify/send', async (t) => {
  const app = await setup(t, { 'a.txt': '0123456789' })
  const res = await app.inject({ url: '/a.txt', headers: { range: 'bytes=2-4' } })
  t.equal(res.statusCode, 206)
  t.equal(res.body, '234')
  t.equal(res.headers['content-range'], 'bytes 2-4/10')
})

t.test('a directory without its slash: 301 to the slash (relative), query kept, empty body', async (t) => {
  const app = await setup(t, { sub: { 'a.txt': 'a' }, 'sp ace': {}, '\\evil.example': {} })
  for (const [url, location] of [
    ['/sub', 'sub/'],
    ['/sub?x=1&y=%2F', 'sub/?x=1&y=%2F'],
    ['//sub', 'sub/'],
    ['///sub?q', 'sub/?q'],
    ['/sp%20ace', 'sp%20ace/'],
    ['/%5Cevil.example', '%5Cevil.example/']
  ]) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 301, url)
    t.equal(res.headers.location, location, url)
    t.equal(res.body, '', url)
  }
  const head = await app.inject({ method: 'HEAD', url: '/sub' })
  t.equal(head.statusCode, 301)
  t.equal(head.headers['content-length'], '0', 'HEAD says the length GET sends')
  t.equal(head.headers.location, 'sub/')
})

t.test('a directory with its slash: index.html, then index.htm, then the listing', async (t) => {
  const app = await setup(t, {
    'index.html': 'root page',
    both: { 'index.html': 'html', 'index.htm': 'htm' },
    htm: { 'index.htm': 'htm only' },
    fake: { 'index.html': { 'x.txt': 'a folder, not a page' }, 'index.htm': 'the real page' },
    fakeonly: { 'index.html': {} },
    none: { 'a.txt': 'a' }
  })
  t.equal((await app.inject('/')).body, 'root page')
  t.equal((await app.inject('/both/')).body, 'html')
  t.equal((await app.inject('/htm/')).body, 'htm only')
  t.equal((await app.inject('/fake/')).body, 'the real page')
  const fakeonly = await app.inject('/fakeonly/')
  t.match(fakeonly.body, 'Directory listing for /fakeonly/')
  t.match(fakeonly.body, link('index.html/', 'index.html/'))
  const none = await app.inject('/none/')
  t.equal(none.statusCode, 200)
  t.equal(none.headers['content-type'], 'text/html; charset=utf-8')
  t.match(none.body, link('a.txt', 'a.txt'))
  const head = await app.inject({ method: 'HEAD', url: '/none/' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal(head.headers['content-length'], String(Buffer.byteLength(none.body)))
})

t.test('index: false always lists; a custom index list is tried in order', async (t) => {
  const off = await setup(t, { 'index.html': 'page' }, { index: false })
  t.match((await off.inject('/')).body, link('index.html', 'index.html'))
  const custom = await setup(t, { 'default.htm': 'custom', 'index.html': 'page' }, { index: ['missing.html', 'default.htm'] })
  t.equal((await custom.inject('/')).body, 'custom')
})

t.test('listing: false answers 404 where a listing would be', async (t) => {
  const app = await setup(t, { sub: { 'a.txt': 'a' }, page: { 'index.html': 'page' } }, { listing: false })
  t.equal((await app.inject('/sub/')).statusCode, 404)
  t.equal((await app.inject('/page/')).body, 'page')
  t.equal((await app.inject('/sub/a.txt')).body, 'a')
})

t.test('not found, bad paths and other methods', async (t) => {
  const app = await setup(t, { 'a.txt': 'a', sub: {} })
  t.equal((await app.inject('/a.txt/')).statusCode, 404, 'a file with a trailing slash')
  t.equal((await app.inject('/a.txt/x')).statusCode, 404, 'below a file')
  t.equal((await app.inject('/missing')).statusCode, 404)
  t.equal((await app.inject('/sub/missing/')).statusCode, 404)
  // inject() normalises dot segments and backslashes away; test/e2e/traversal.test.ts sends them raw
  for (const url of ['/%zz', '/a%2Fb', '/a%00.txt', '/%ED%A0%80']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 400, url)
  }
  const bad = await app.inject({ url: '/a%00.txt', headers: json })
  t.same(bad.json(), { statusCode: 400, code: 'FST_SERVE_DIR_BAD_PATH', error: 'Bad Request', message: 'Bad request path: NUL byte' })

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    const res = await app.inject({ method, url: '/a.txt', payload: method === 'OPTIONS' ? undefined : 'x', headers: { 'content-type': 'application/x-unknown' } })
    t.equal(res.statusCode, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD', method)
  }
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 405)
  const trace = await app.inject({ method: 'TRACE', url: '/a.txt' })
  t.equal(trace.statusCode, 405, 'TRACE')
  t.equal(trace.headers.allow, 'GET, HEAD')
  // the rest of Node's methods are the host's to teach Fastify (the app does: test/app)
  t.equal((await app.inject({ method: 'PROPFIND' as 'GET', url: '/a.txt' })).statusCode, 404, 'a method Fastify was not taught is its own 404')
})

t.test('errors are HTML for browsers and JSON for programs', async (t) => {
  const app = await setup(t, {})
  const html = await app.inject({ url: '/<script>', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(html.statusCode, 404)
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  t.match(html.body, '<title>404 Not Found</title>')
  t.notMatch(html.body, '<script>')
  const plain = await app.inject('/missing')
  t.equal(plain.headers['content-type'], 'text/html; charset=utf-8', 'no Accept: HTML, as Python does')
  const asked = await app.inject('/missing?format=json')
  t.equal(asked.json().statusCode, 404, '?format=json works on error pages too')
  const js = await app.inject({ url: '/missing', headers: json })
  t.equal(js.headers['content-type'], 'application/json; charset=utf-8')
  t.same(js.json(), { statusCode: 404, code: 'FST_SERVE_DIR_NOT_FOUND', error: 'Not Found', message: 'Not found' })
  t.match(js.headers.vary, 'Accept')
})

t.test('dotfiles are hidden by default and served with dotfiles: allow', async (t) => {
  const tree = { '.env': 'SECRET=1', '.git': { config: 'c' }, 'a.txt': 'a', sub: { '.hidden': 'h' } }
  const app = await setup(t, tree)
  for (const url of ['/.env', '/.git/config', '/.git/', '/.git', '/sub/.hidden', '/%2Eenv']) {
    t.equal((await app.inject(url)).statusCode, 404, url)
  }
  const list = await app.inject({ url: '/', headers: json })
  t.same(list.json().entries.map((e: { name: string }) => e.name), ['a.txt', 'sub'])

  const allow = await setup(t, tree, { dotfiles: 'allow' })
  t.equal((await allow.inject('/.env')).body, 'SECRET=1')
  t.equal((await allow.inject('/.git/config')).body, 'c')
  t.same((await allow.inject({ url: '/', headers: json })).json().entries.map((e: { name: string }) => e.name), ['.env', '.git', 'a.txt', 'sub'])
})

t.test('symlinks: inside by default, follow and deny', async (t) => {
  const dir = t.testdir({
    'www-secret': { 'secret.txt': 'SECRET' },
    www: {
      'a.txt': 'a',
      sub: { 'b.txt': 'b' },
      'in-file': t.fixture('symlink', 'a.txt'),
      'in-dir': t.fixture('symlink', 'sub'),
      'out-file': t.fixture('symlink', '../www-secret/secret.txt'),
      'out-dir': t.fixture('symlink', '../www-secret'),
      'to-etc': t.fixture('symlink', '/etc'),
      dangling: t.fixture('symlink', 'nowhere.txt'),
      loop1: t.fixture('symlink', 'loop2'),
      loop2: t.fixture('symlink', 'loop1'),
      idx: { 'index.html': t.fixture('symlink', '../../www-secret/secret.txt') }
    }
  })
  const root = path.join(dir, 'www')
  const make = async (symlinks?: 'inside' | 'follow' | 'deny') => {
    const app = Fastify()
    await app.register(serveDir, { root, ...(symlinks === undefined ? {} : { symlinks }) })
    t.teardown(() => app.close())
    return app
  }
  const names = async (app: Awaited<ReturnType<typeof make>>, url = '/') =>
    (await app.inject({ url, headers: json })).json().entries.map((e: { name: string }) => e.name)

  const inside = await make()
  t.equal((await inside.inject('/in-file')).body, 'a')
  t.equal((await inside.inject('/in-dir/b.txt')).body, 'b')
  t.equal((await inside.inject('/in-dir')).statusCode, 301)
  for (const url of ['/out-file', '/out-dir/', '/out-dir/secret.txt', '/to-etc/passwd', '/dangling', '/loop1', '/loop2/']) {
    t.equal((await inside.inject(url)).statusCode, 404, `inside: ${url}`)
  }
  t.same(await names(inside), ['a.txt', 'idx', 'in-dir', 'in-file', 'sub'])
  const idx = await inside.inject('/idx/')
  t.match(idx.body, 'Directory listing for /idx/', 'an index.html linking outside is no index')
  t.notMatch(idx.body, 'SECRET')
  t.same(await names(inside, '/idx/'), [])

  const follow = await make('follow')
  t.equal((await follow.inject('/out-file')).body, 'SECRET')
  t.equal((await follow.inject('/out-dir/secret.txt')).body, 'SECRET')
  t.equal((await follow.inject('/idx/')).body, 'SECRET')
  t.equal((await follow.inject('/dangling')).statusCode, 404)
  t.equal((await follow.inject('/loop1')).statusCode, 404)
  t.same(await names(follow), ['a.txt', 'idx', 'in-dir', 'in-file', 'out-dir', 'out-file', 'sub', 'to-etc'])

  const deny = await make('deny')
  for (const url of ['/in-file', '/in-dir/b.txt', '/out-file', '/dangling']) {
    t.equal((await deny.inject(url)).statusCode, 404, `deny: ${url}`)
  }
  t.equal((await deny.inject('/sub/b.txt')).body, 'b')
  t.same(await names(deny), ['a.txt', 'idx', 'sub'])
})

t.test('a sibling folder sharing the root\'s name is outside', async (t) => {
  const dir = t.testdir({ www: { 'a.txt': 'a', link: t.fixture('symlink', '../www-secret/s.txt') }, 'www-secret': { 's.txt': 'S' } })
  const app = Fastify()
  await app.register(serveDir, { root: path.join(dir, 'www') })
  t.teardown(() => app.close())
  t.equal((await app.inject('/link')).statusCode, 404)
})

t.test('FIFOs, sockets and devices are never opened nor listed', async (t) => {
  // a short path: a Unix socket's path must fit in 108 bytes, and t.testdir's are long
  const root = mkdtempSync(path.join(tmpdir(), 'sd-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  writeFileSync(path.join(root, 'a.txt'), 'a')
  symlinkSync('/dev/zero', path.join(root, 'dev'))
  execFileSync('mkfifo', [path.join(root, 'fifo')])
  const sock = net.createServer().listen(path.join(root, 'sock'))
  await new Promise((resolve) => sock.once('listening', resolve))
  t.teardown(() => sock.close())

  for (const symlinks of ['inside', 'follow'] as const) {
    const app = Fastify()
    await app.register(serveDir, { root, symlinks })
    t.teardown(() => app.close())
    for (const url of ['/fifo', '/sock', '/dev']) {
      t.equal((await app.inject(url)).statusCode, 404, `${symlinks}: ${url}`)
    }
    const list = await app.inject({ url: '/', headers: json })
    t.same(list.json().entries.map((e: { name: string }) => e.name), ['a.txt'])
  }
})

t.test('awkward names are listed as written and each link fetches that exact file', async (t) => {
  const names = [
    '<img src=x onerror=alert(1)>.txt', '100%.txt', 'a#b.txt', 'q?.txt', 'amp&x.txt', 'quote"x',
    "apos'x", 'back\\slash.txt', 'caf\u00e9.txt', 'cafe\u0301.txt', '日本語.txt', '😀 smile.txt',
    ' lead space', 'plus+sign', 'semi;colon', 'tab\tname', '%2e%2e', 'a..b', 'trailing.'
  ]
  const tree: Record<string, string | Record<string, string>> = {}
  names.forEach((n, i) => { tree[n] = `content ${i}` })
  tree['dir <&> #?%'] = { 'in.txt': 'inside' }
  const app = await setup(t, tree)

  const html = (await app.inject('/')).body
  const listing = (await app.inject({ url: '/', headers: json })).json()
  t.equal(listing.entries.length, names.length + 1)
  for (const [i, name] of names.entries()) {
    const entry = listing.entries.find((e: { name: string }) => e.name === name)
    t.ok(entry, `listed: ${name}`)
    const res = await app.inject('/' + entry.href)
    t.equal(res.statusCode, 200, `fetched: ${name}`)
    t.equal(res.body, `content ${i}`, `exact file: ${name}`)
    // the HTML link is the same href, HTML-escaped
    t.ok(html.includes(`href="${entry.href.replace(/&/g, '&amp;').replace(/'/g, '&#39;')}"`), `html link: ${name}`)
  }
  t.notMatch(html, '<img')
  const sub = listing.entries.find((e: { type: string }) => e.type === 'directory')
  t.equal(sub.href, 'dir%20%3C%26%3E%20%23%3F%25/')
  t.equal((await app.inject('/' + sub.href + 'in.txt')).body, 'inside')
  t.match((await app.inject('/' + sub.href)).body, 'Directory listing for /dir &lt;&amp;&gt; #?%/')
})

t.test('the JSON listing: negotiated or ?format=json, with Vary: Accept', async (t) => {
  const app = await setup(t, { sub: { 'b.txt': 'bb', inner: {} } })
  const res = await app.inject({ url: '/sub/', headers: json })
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers.vary, 'Accept, Accept-Encoding')
  const body = res.json()
  t.equal(body.path, '/sub/')
  t.match(body.entries, [
    { name: 'b.txt', type: 'file', size: 2, href: 'b.txt', mtime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ },
    { name: 'inner', type: 'directory', size: null, href: 'inner/' }
  ])
  const q = await app.inject('/sub/?format=json')
  t.same(q.json(), body)
  for (const bad of ['xml', '', 'json&format=html']) {
    t.equal((await app.inject('/sub/?format=' + bad)).statusCode, 400, `format=${bad}`)
  }
  const forced = await app.inject({ url: '/sub/?format=html', headers: json })
  t.equal(forced.headers['content-type'], 'text/html; charset=utf-8')
  const browser = await app.inject({ url: '/sub/', headers: { accept: 'text/html,*/*;q=0.8' } })
  t.equal(browser.headers.vary, 'Accept, Accept-Encoding')
  t.match(browser.body, link('../', '../'))
  t.notMatch((await app.inject('/')).body, 'href="../"', 'no parent link at the top')
})

t.test('prefix mounts the folder below a URL path', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', sub: { 'b.txt': 'b' } })
  const app = Fastify({ routerOptions: { caseSensitive: false } })
  await app.register(serveDir, { root, prefix: '/files/' })
  app.get('/', async () => 'host page')
  t.teardown(() => app.close())
  t.equal((await app.inject('/')).body, 'host page')
  t.equal((await app.inject('/files')).headers.location, 'files/')
  t.equal((await app.inject('/files?x')).headers.location, 'files/?x')
  t.equal((await app.inject('/files/sub')).headers.location, 'sub/')
  t.equal((await app.inject('/files/a.txt')).body, 'a')
  t.equal((await app.inject('/files/sub/b.txt')).body, 'b')
  t.match((await app.inject('/files/')).body, 'Directory listing for /files/')
  t.match((await app.inject('/files/sub/')).body, 'href="../"')
  t.equal((await app.inject('/FILES/a.txt')).statusCode, 404, 'the router folds case; the mount does not')
  t.equal((await app.inject({ method: 'POST', url: '/files' })).statusCode, 404, 'the host decides other methods')
  const refusing = Fastify()
  await refusing.register(serveDir, { root, prefix: '/files/', methodNotAllowed: true })
  t.teardown(() => refusing.close())
  t.equal((await refusing.inject({ method: 'POST', url: '/files' })).statusCode, 405, 'unless the plugin is told to refuse them')
})

t.test('a good citizen in a host app: its 404 handler, its routes and its methods stay its own', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', sub: {} })
  const warnings: string[] = []
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(w.code ?? w.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const app = Fastify()
  app.setNotFoundHandler(async (_req, reply) => reply.code(404).send({ host: 'missing' }))
  app.post('/api/x', async () => ({ ok: true }))
  await app.register(serveDir, { root })
  // a method the host teaches Fastify after the plugin, with its route
  app.addHttpMethod('PROPFIND', { hasBody: true })
  app.route({ method: 'PROPFIND' as 'GET', url: '/dav', handler: async () => 'dav' })
  t.teardown(() => app.close())
  await app.ready()
  for (const url of ['/missing.txt', '/sub/missing/', '/a.txt/', '/.hidden']) {
    const res = await app.inject(url)
    t.same([res.statusCode, res.json()], [404, { host: 'missing' }], `${url}: the host's 404 handler`)
    t.equal(res.headers.etag, undefined, 'no file headers on it')
    t.equal(res.headers['x-content-type-options'], undefined, 'nor any other header of ours')
  }
  t.same((await app.inject({ method: 'POST', url: '/api/x' })).json(), { ok: true })
  t.same((await app.inject({ method: 'POST', url: '/api/y' })).json(), { host: 'missing' }, 'the host\'s 404, not our 405')
  t.equal((await app.inject({ method: 'PROPFIND' as 'GET', url: '/dav' })).body, 'dav')
  t.equal((await app.inject('/a.txt')).body, 'a')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings, [], 'no FSTDEP025: the host\'s method table is its own')
})

t.test('works beside a host app that registered @fastify/static itself', async (t) => {
  const mine = t.testdir({ 'a.txt': 'mine', 'b\\c.txt': 'bc' })
  const theirs = path.join(mine, '..')
  const app = Fastify()
  await app.register(fastifyStatic, { root: theirs, serve: false })
  await app.register(serveDir, { root: mine, prefix: '/mine' })
  app.get('/theirs', (req, reply) => reply.sendFile(path.basename(mine) + '/a.txt'))
  t.teardown(() => app.close())
  t.equal((await app.inject('/mine/a.txt')).body, 'mine')
  t.equal((await app.inject('/mine/b%5Cc.txt')).body, 'bc')
  t.equal((await app.inject('/theirs')).body, 'mine')
})

t.test('a folder that disappears after start is a 404, not a crash', async (t) => {
  const root = t.testdir({ gone: { 'a.txt': 'a' } })
  const app2 = Fastify()
  await app2.register(serveDir, { root: path.join(root, 'gone') })
  t.teardown(() => app2.close())
  execFileSync('rm', ['-r', path.join(root, 'gone')])
  t.equal((await app2.inject('/')).statusCode, 404)
  t.equal((await app2.inject('/a.txt')).statusCode, 404)
})

t.test('registered in a scope with a route prefix: served below it, links and redirects from the top', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', sub: { 'b.txt': 'b' } })
  for (const [scope, own, base] of [['/files', undefined, '/files/'], ['/files', '/docs', '/files/docs/']] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(async (s) => { await s.register(serveDir, { root, ...(own === undefined ? {} : { prefix: own }) }) }, { prefix: scope })
    app.get('/elsewhere', async () => 'the host\'s')
    t.equal((await app.inject(`${base}a.txt`)).body, 'a', `${base}a.txt`)
    t.equal((await app.inject(`${base}sub/b.txt`)).body, 'b')
    const redirect = await app.inject(base.slice(0, -1))
    t.equal(redirect.statusCode, 301, `${base.slice(0, -1)} gets its slash`)
    t.equal(redirect.headers.location, base.split('/').at(-2) + '/')
    const listing = await app.inject({ url: `${base}sub/`, headers: json })
    t.equal(listing.json().path, `${base}sub/`, 'the listing names the path from the top')
    t.equal((await app.inject('/a.txt')).statusCode, 404, 'nothing outside the prefix')
    t.equal((await app.inject('/elsewhere')).body, 'the host\'s')
  }
  const params = Fastify()
  t.teardown(() => params.close())
  // eslint-disable-next-line no-void
  void params.register(async (s) => { await s.register(serveDir, { root }) }, { prefix: '/:lang' })
  await t.rejects(async () => await params.ready(), { code: 'FST_SERVE_DIR_INVALID_OPTION', message: /enclosing route prefix must be a plain path/ })
})

t.test('TypeScript sources are text, shown in the browser as Python shows them', async (t) => {
  const app = await setup(t, { 'app.ts': 'const a: number = 1\n', 'b.TSX': 'x', 'c.mts': 'x', 'd.cts': 'x', 'clip.m2ts': 'x' })
  for (const name of ['app.ts', 'b.TSX', 'c.mts', 'd.cts']) t.equal((await app.inject(`/${name}`)).headers['content-type'], 'text/plain; charset=utf-8', name)
  t.equal((await app.inject('/clip.m2ts')).headers['content-type'], 'video/mp2t', 'other video names keep their type')
})
