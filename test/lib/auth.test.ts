// The login on a bare Fastify with real folders: Basic auth parsed strictly and answered alike for
// every wrong guess, the token's cookie, public reading, throttling, and the hashes it accepts.
import t, { type Test } from 'tap'
import bcrypt from 'bcryptjs'
import type { FastifyInstance } from 'fastify'
import Fastify from 'fastify'
import serveDir, { type AuthOptions, type ServeDirOptions } from '../../lib/serve-dir'
import { decoyOf, hashPassword, usersOf, verifierOf } from '../../lib/serve-dir/auth/passwords'
import { redactToken } from '../../lib/serve-dir/auth/login'
import { clientOf, networkOf, proxyOf } from '../../lib/serve-dir/client'
import { capture, serve, waitFor } from '../helper'

/** Cheap hashes: every check in a test would otherwise cost 0.1 s. */
const CHEAP = { ln: 8, r: 8, p: 1 }
const TOKEN = 'k3y-0f-s1xteen-chars_and-more'
const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')

async function users (): Promise<Record<string, string>> {
  return {
    bob: await hashPassword('correct horse', CHEAP),
    jürgen: await hashPassword('pässwörd:with colon', CHEAP),
    // htpasswd -nB writes $2y$
    eve: bcrypt.hashSync('bcrypt pw', 4).replace(/^\$2b\$/, '$2y$')
  }
}

/** Each test's folder, made once: a second t.testdir() in one test would replace the first. */
const folders = new WeakMap<Test, string>()

async function guarded (t: Test, auth: AuthOptions, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  let root = folders.get(t)
  if (root === undefined) {
    root = t.testdir({ 'a.txt': 'secret a', sub: { 'b.txt': 'b' }, inbox: {} })
    folders.set(t, root)
  }
  return await serve(t, root, { auth, ...opts })
}

t.test('hashes: bcrypt and scrypt are taken; plain text and weak ones are refused when read', async (t) => {
  t.equal(await verifierOf(await hashPassword('pw', CHEAP))('pw'), true)
  t.equal(await verifierOf(await hashPassword('pw', CHEAP))('pW'), false)
  t.match(await hashPassword('pw', CHEAP), /^\$scrypt\$ln=8,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  t.match(await hashPassword('pw'), /^\$scrypt\$ln=15,r=8,p=3\$/, 'the default cost')
  t.equal(await verifierOf(await hashPassword('café', CHEAP))('cafe\u0301'), true, 'NFC and NFD are one password')
  for (const prefix of ['$2a$', '$2b$', '$2y$']) {
    t.equal(await verifierOf(bcrypt.hashSync('pw', 4).replace(/^\$2b\$/, prefix))('pw'), true, prefix)
  }
  const refused: Array<[string, RegExp]> = [
    ['plain', /plain text/],
    ['$apr1$abc$def', /weak hash/],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /weak hash/],
    ['abcdefghijklm', /weak hash/],
    ['$6$salt$hash', /weak hash/],
    ['$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43), /out of range/]
  ]
  for (const [hash, why] of refused) t.throws(() => verifierOf(hash), { message: why }, hash)
  t.throws(() => usersOf('bob:plain\n', 'f'), { message: 'f line 1: not a bcrypt or scrypt hash (a password in plain text?): make one with serve-dir --hash-password or htpasswd -nB' })
  const line = 'bob:' + await hashPassword('x', CHEAP)
  t.throws(() => usersOf(`# users\n\n${line}\n${line}\n`, 'f'), { message: 'f line 4: "bob" is given twice' })
  t.throws(() => usersOf('nocolon\n', 'f'), { message: /f line 1: not a bcrypt/ })
  t.throws(() => usersOf(':' + line.slice(4), 'f'), { message: /f line 1: a user name must be/ })
  t.throws(() => usersOf({ bob: 1 as never }, 'o'), { message: 'o user "bob": the hash must be a string' })
  t.same([...usersOf(`# users\r\n${line}\r\n`, 'f').keys()], ['bob'], 'CRLF lines and comments')
})

t.test('options: a bad auth fails ready() with a named error', async (t) => {
  const root = t.testdir({})
  const line = 'bob:' + await hashPassword('x', CHEAP)
  for (const bad of [true, 'x', [], {}, { users: 'bob:plain' }, { users: '' }, { users: 1 }, { users: [line] }, { token: 'short' }, { token: 1 }, { users: line, what: 1 }, { users: line, publicRead: 'yes' }, { users: line, maxFailures: -1 }, { users: line, maxPending: 0 }, { users: line, maxPending: 1.5 }, { users: line, maxProxyFailures: 'x' }]) {
    const app = Fastify()
    app.register(serveDir, { root, auth: bad as never })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_SERVE_DIR_INVALID_OPTION' }, JSON.stringify(bad))
  }
})

t.test('Basic auth: the right user in; every wrong guess the same 401, malformed ones too', async (t) => {
  const app = await guarded(t, { users: await users() })
  const ok = await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 'correct horse') } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, 'secret a')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('jürgen', 'pässwörd:with colon') } })).statusCode, 200, 'UTF-8, split at the first colon')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('eve', 'bcrypt pw') } })).statusCode, 200, 'an htpasswd -nB hash')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: 'basic   ' + Buffer.from('bob:correct horse').toString('base64') } })).statusCode, 200, 'the scheme in any case')

  const strip = (r: { statusCode: number, headers: Record<string, unknown>, body: string }): unknown => {
    const { date, ...headers } = r.headers
    return { status: r.statusCode, headers, body: r.body }
  }
  const none = await app.inject({ url: '/a.txt', remoteAddress: '10.0.0.1' } as never)
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Basic realm="serve-dir", charset="UTF-8"')
  t.notMatch(none.body, 'secret')
  const wrongPassword = strip(await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 'wrong') }, remoteAddress: '10.0.0.2' } as never))
  const wrongUser = strip(await app.inject({ url: '/a.txt', headers: { authorization: basic('mallory', 'correct horse') }, remoteAddress: '10.0.0.3' } as never))
  t.same(wrongUser, wrongPassword, 'a wrong user and a wrong password: byte-identical answers')
  t.same(strip(none), wrongPassword, 'and no login at all')
  const malformed = ['Basic', 'Basic !!!!', 'Basic YWJj', 'Basic YWJjZA=', 'Basic ' + Buffer.from([0x62, 0x6f, 0x62, 0x3a, 0xff]).toString('base64'), 'Bearer abc', 'Basic ' + 'A'.repeat(10_001) + '=']
  for (const [i, authorization] of malformed.entries()) {
    const res = await app.inject({ url: '/a.txt', headers: { authorization }, remoteAddress: `10.0.1.${i}` } as never)
    t.same(strip(res), wrongPassword, `${authorization.slice(0, 30)}: the same 401, never a 500`)
  }
  const json = await app.inject({ url: '/a.txt', headers: { accept: 'application/json' } })
  t.match(json.json(), { statusCode: 401, code: 'FST_SERVE_DIR_LOGIN_REQUIRED' }, 'in the client\'s format')
  t.equal((await app.inject({ url: '/sub/' })).statusCode, 401, 'listings too')
  t.equal((await app.inject({ url: '/?download=zip' })).statusCode, 401, 'and archives')
  const listing = await app.inject({ url: '/', headers: { authorization: basic('bob', 'correct horse') } })
  const css = /href="(\.serve-dir\/listing-[\w-]+\.css)"/.exec(listing.body)?.[1] as string
  t.equal((await app.inject('/' + css)).statusCode, 401, 'and the listing\'s assets')
})

t.test('a login that worked is remembered: a page\'s assets cost one hash; at most two hashes at once', async (t) => {
  let calls = 0
  let running = 0
  let most = 0
  const compare = bcrypt.compare.bind(bcrypt)
  t.intercept(bcrypt, 'compare', {
    value: async (password: string, hash: string) => {
      calls++
      most = Math.max(most, ++running)
      try {
        return await compare(password, hash)
      } finally {
        running--
      }
    }
  })
  const app = await guarded(t, { users: { eve: bcrypt.hashSync('bcrypt pw', 6) }, maxFailures: 1000 })
  for (let i = 0; i < 40; i++) {
    t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('eve', 'bcrypt pw') } })).statusCode, 200)
  }
  t.equal(calls, 1, '40 requests, one hash')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('eve', 'wrong') } })).statusCode, 401)
  t.equal(calls, 2, 'a failure is not remembered')
  const flood = await Promise.all(Array.from({ length: 12 }, async (_, i) =>
    (await app.inject({ url: '/a.txt', headers: { authorization: basic('eve', `guess ${i}`) }, remoteAddress: `10.0.2.${i}` } as never)).statusCode))
  t.same(new Set(flood), new Set([401]))
  t.equal(most, 2, 'twelve bad passwords at once: two hashes at a time')
})

t.test('five failures in a minute from one address: 429 with Retry-After, no hash checked; others go on', async (t) => {
  let calls = 0
  const compare = bcrypt.compare.bind(bcrypt)
  t.intercept(bcrypt, 'compare', { value: async (p: string, h: string) => { calls++; return await compare(p, h) } })
  const app = await guarded(t, { users: { eve: bcrypt.hashSync('right', 4) } })
  const from = (remoteAddress: string, password: string): Promise<{ statusCode: number, headers: Record<string, unknown> }> =>
    app.inject({ url: '/a.txt', headers: { authorization: basic('eve', password) }, remoteAddress } as never)
  for (let i = 0; i < 4; i++) t.equal((await from('10.9.9.9', `wrong ${i}`)).statusCode, 401)
  t.equal((await from('10.9.9.9', 'right')).statusCode, 200, 'a right one among them is not counted')
  const burst = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await from('10.9.9.9', `burst ${i}`)).statusCode))
  t.same(burst.sort(), [401, ...Array(9).fill(429)], 'ten guesses at once: one more try, the rest 429 before any hash')
  const before = calls
  const remembered = await from('10.9.9.9', 'right')
  t.equal(remembered.statusCode, 200, 'a login that worked before is remembered, not throttled')
  const throttled = await app.inject({ url: '/a.txt', headers: { authorization: 'BASIC ' + Buffer.from('eve:right').toString('base64') }, remoteAddress: '10.9.9.9' } as never)
  t.equal(throttled.statusCode, 429, 'a right password not seen before waits')
  t.ok(Number(throttled.headers['retry-after']) >= 1 && Number(throttled.headers['retry-after']) <= 60, `Retry-After: ${String(throttled.headers['retry-after'])}`)
  t.equal(calls, before, 'no hash checked for a throttled address')
  t.equal((await from('10.9.9.8', 'right')).statusCode, 200, 'another address is not held up')
  t.equal((await app.inject({ url: '/a.txt?token=whatever-token-value', remoteAddress: '10.9.9.9' } as never)).statusCode, 401, 'no token configured: a token parameter is no way in')
})

t.test('a token link: sets an HttpOnly SameSite=Strict cookie and leaves for the clean URL', async (t) => {
  const app = await guarded(t, { token: TOKEN }, { prefix: '/files' })
  const first = await app.inject(`/files/sub/?sort=size&token=${TOKEN}&order=desc`)
  t.equal(first.statusCode, 200)
  const cookie = first.headers['set-cookie'] as string
  t.match(cookie, /^serve-dir-login-[0-9a-f]{8}=[\w-]{43}; Path=\/files; HttpOnly; SameSite=Strict$/)
  t.notMatch(cookie, TOKEN, 'the cookie is not the token')
  t.equal(first.headers['cache-control'], 'no-store')
  t.equal(first.headers['referrer-policy'], 'no-referrer')
  t.match(first.body, '<meta http-equiv="refresh" content="0; url=/files/sub/?sort=size&amp;order=desc">')
  t.notMatch(first.body, TOKEN)
  const jar = cookie.split(';')[0]
  t.equal((await app.inject({ url: '/files/a.txt', headers: { cookie: `other=1; ${jar}` } })).body, 'secret a', 'the cookie lets the browser in')
  t.equal((await app.inject({ url: '/files/a.txt', headers: { cookie: jar.replace(/=.*/, '=forged') } })).statusCode, 401)
  t.equal((await app.inject({ url: '/files', headers: { cookie: jar } })).statusCode, 301, 'the prefix without its slash gets the cookie too (and its redirect)')
  const other = await guarded(t, { token: 'another-token-of-16-chars' })
  const evil = await other.inject('//evil.example/?token=another-token-of-16-chars')
  t.match(evil.body, 'url=/evil.example/"', 'never a refresh to //host/, another site')
  const otherCookie = (await other.inject('/?token=another-token-of-16-chars')).headers['set-cookie'] as string
  t.not(otherCookie.split('=')[0], jar.split('=')[0], 'another server on this machine keeps a cookie of its own (cookies know no ports)')
  t.equal((await app.inject({ url: '/files/a.txt', headers: { cookie: 'other=1; flag' } })).statusCode, 401, 'cookies, none of them ours')
  const none = await app.inject('/files/a.txt')
  t.equal(none.statusCode, 401)
  t.notOk(none.headers['www-authenticate'], 'no users: no password prompt a browser could not answer')
  t.equal((await app.inject(`/files/a.txt?token=${TOKEN}x`)).statusCode, 401, 'a wrong token')
  t.equal((await app.inject({ url: '/files/a.txt', headers: { authorization: basic('bob', TOKEN) } })).statusCode, 401, 'no users: Basic is no way in')
  t.equal(redactToken(`/a?x=1&token=${TOKEN}&y=2`), '/a?x=1&token=[redacted]&y=2')
  t.equal(redactToken(`/a?TOKEN=${TOKEN}`), '/a?TOKEN=[redacted]')
  t.equal(redactToken('/a?mytoken=1'), '/a?mytoken=1')
})

t.test('over HTTPS (here: behind a proxy that says so), the token\'s cookie is Secure', async (t) => {
  const proxied = Fastify({ trustProxy: true })
  t.teardown(() => proxied.close())
  await proxied.register(serveDir, { root: t.testdir({ 'a.txt': 'a' }), auth: { token: TOKEN } })
  const secure = await proxied.inject({ url: `/a.txt?token=${TOKEN}`, headers: { 'x-forwarded-proto': 'https' } })
  t.match(secure.headers['set-cookie'], /; Secure$/, 'over HTTPS, a Secure cookie')
  t.match(secure.body, 'url=/a.txt"', 'no query left: none in the clean URL')
})

t.test('publicRead: anyone reads; uploads need the login, and their log line names the user', async (t) => {
  const lines = capture()
  const root = t.testdir({ 'a.txt': 'a', inbox: {} })
  const app = Fastify({ logger: { level: 'info', stream: lines.stream } })
  t.teardown(() => app.close())
  await app.register(serveDir, { root, uploads: { paths: ['/inbox'] }, auth: { users: await users(), publicRead: true } })
  t.equal((await app.inject('/a.txt')).statusCode, 200)
  t.equal((await app.inject({ method: 'HEAD', url: '/inbox/' })).statusCode, 200)
  const anonymous = await app.inject({ method: 'PUT', url: '/inbox/x.txt', payload: 'x' })
  t.equal(anonymous.statusCode, 401)
  t.ok(anonymous.headers['www-authenticate'])
  const put = await app.inject({ method: 'PUT', url: '/inbox/x.txt', payload: 'x', headers: { authorization: basic('bob', 'correct horse') } })
  t.equal(put.statusCode, 201)
  t.match(lines.text(), /"upload":"\/inbox\/x\.txt","bytes":1,"user":"bob","msg":"upload stored"/)
  t.notMatch(lines.text(), 'correct horse', 'never the password')
  t.notMatch(lines.text(), Buffer.from('bob:correct horse').toString('base64'), 'nor the header')
  const preflight = Fastify()
  t.teardown(() => preflight.close())
  await preflight.register(serveDir, { root, cors: true, auth: { users: await users() } })
  const options = await preflight.inject({ method: 'OPTIONS', url: '/a.txt', headers: { origin: 'http://a.example', 'access-control-request-method': 'GET' } })
  t.equal(options.statusCode, 204, 'a CORS preflight carries no credentials: answered')
})

t.test('--token with publicRead: the link still logs in, so that uploads work from that browser', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', inbox: {} })
  const app = await serve(t, root, { uploads: true, auth: { token: TOKEN, publicRead: true } })
  t.equal((await app.inject('/a.txt')).statusCode, 200, 'anyone reads')
  const first = await app.inject(`/inbox/?token=${TOKEN}`)
  const jar = (first.headers['set-cookie'] as string).split(';')[0]
  t.ok(jar, 'the cookie is set')
  t.equal((await app.inject({ method: 'PUT', url: '/inbox/x.txt', payload: 'x' })).statusCode, 401, 'no cookie: no upload')
  t.equal((await app.inject({ method: 'PUT', url: '/inbox/x.txt', payload: 'x', headers: { cookie: jar } })).statusCode, 201)
})

t.test('an unknown user is checked against a hash of the cost most users have, not the first user\'s', async (t) => {
  const compared: string[] = []
  const compare = bcrypt.compare.bind(bcrypt)
  t.intercept(bcrypt, 'compare', {
    value: async (p: string, h: string) => { compared.push(h.slice(0, 7)); return await compare(p, h) }
  })
  const app = await guarded(t, {
    users: { eve: bcrypt.hashSync('e', 4), bob: bcrypt.hashSync('b', 5), carol: bcrypt.hashSync('c', 5) },
    maxFailures: 1000
  })
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('mallory', 'guess') } })).statusCode, 401)
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 'guess') } })).statusCode, 401)
  t.same(compared, ['$2b$05$', '$2b$05$'], 'an unknown user costs what most known ones do')
  const scryptUsers = usersOf({
    a: await hashPassword('a', { ln: 4, r: 8, p: 1 }),
    b: await hashPassword('b', CHEAP),
    c: await hashPassword('c', CHEAP),
    d: '$2y$' + bcrypt.hashSync('d', 4).slice(4)
  }, 'o')
  t.same([...scryptUsers.values()].map((v) => v.cost),
    ['scrypt ln=4,r=8,p=1', 'scrypt ln=8,r=8,p=1', 'scrypt ln=8,r=8,p=1', 'bcrypt 04'])
  t.equal(decoyOf(scryptUsers), scryptUsers.get('b'), 'the most common cost; the first user of it')
  const tie = usersOf({ x: await hashPassword('x', CHEAP), y: bcrypt.hashSync('y', 4) }, 'o')
  t.equal(decoyOf(tie)?.cost, 'scrypt ln=8,r=8,p=1', 'a tie: the first listed')
  t.equal(decoyOf(new Map()), undefined)
})

t.test('a client is an address it cannot choose: a proxy\'s junk is the proxy, an IPv6 /64 one client', async (t) => {
  t.equal(networkOf('192.0.2.1'), '192.0.2.1')
  t.equal(networkOf('::ffff:192.0.2.1'), '192.0.2.1', 'IPv4-mapped')
  t.equal(networkOf('2001:DB8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  t.equal(networkOf('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(networkOf('::1'), '0:0:0:0::/64')
  t.equal(networkOf('fe80::1:2:3:4%eth0'), 'fe80:0:0:0::/64')
  t.equal(networkOf('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64')
  t.equal(networkOf(''), '')
  t.equal(clientOf({ ip: undefined, raw: { socket: undefined } } as never), '', 'a connection gone: no address, no crash')
  t.equal(clientOf({ ip: 'junk', raw: { socket: { remoteAddress: '::ffff:127.0.0.1' } } } as never), '127.0.0.1')
  t.equal(proxyOf({ ip: '192.0.2.1', raw: { socket: undefined } } as never), '', 'forwarded, its connection gone')
  t.equal(proxyOf({ ip: '192.0.2.1', raw: { socket: { remoteAddress: '192.0.2.1' } } } as never), undefined, 'not forwarded')
  // one hop, as serve-dir --trust-proxy trusts
  const proxied = Fastify({ trustProxy: (_address: string, hop: number) => hop === 0 })
  t.teardown(() => proxied.close())
  await proxied.register(serveDir, { root: t.testdir({ 'a.txt': 'a' }), auth: { users: { eve: bcrypt.hashSync('right', 4) } } })
  const guess = async (forwarded: string, i: number): Promise<number> => (await proxied.inject({
    url: '/a.txt', remoteAddress: '127.0.0.1', headers: { authorization: basic('eve', `wrong ${i}`), 'x-forwarded-for': forwarded }
  } as never)).statusCode
  const junk = []
  for (let i = 0; i < 8; i++) junk.push(await guess(`not an address ${i}`, i))
  t.same(junk, [401, 401, 401, 401, 401, 429, 429, 429], 'text that is no address counts as the proxy, never a client of its own')
  const sixes = []
  for (let i = 0; i < 8; i++) sixes.push(await guess(`2001:db8:5:6::${i + 1}`, i))
  t.same(sixes, [401, 401, 401, 401, 401, 429, 429, 429], 'eight addresses of one /64: one client')
  t.equal(await guess('2001:db8:5:7::1', 0), 401, 'the next /64 is another')
  t.equal(await guess('192.0.2.1, 198.51.100.7', 0), 401, 'the address the proxy saw (the last), not what the client wrote before it')
  // a client that reaches the port itself is believed as a proxy: it names every guess anew
  const named = []
  for (let i = 0; i < 25; i++) {
    const forwarded = i % 5 === 0 ? `junk ${i}` : `203.0.113.${i}`
    named.push((await proxied.inject({
      url: '/a.txt', remoteAddress: '127.0.0.2', headers: { authorization: basic('eve', `wrong ${i}`), 'x-forwarded-for': forwarded }
    } as never)).statusCode)
  }
  t.same(named, [...Array(20).fill(401), ...Array(5).fill(429)], 'all the clients of one proxy: maxProxyFailures (20) a minute')
})

t.test('one client holds at most maxPending places in the password checks\' queue: more get 429 at once', async (t) => {
  let calls = 0
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  const compare = bcrypt.compare.bind(bcrypt)
  t.intercept(bcrypt, 'compare', {
    value: async (p: string, h: string) => { calls++; await gate; return await compare(p, h) }
  })
  const app = await guarded(t, { users: { eve: bcrypt.hashSync('right', 4) }, maxFailures: 1000 })
  type Answer = { statusCode: number, headers: Record<string, unknown>, json: () => { code: string } }
  const from = async (remoteAddress: string, password: string): Promise<Answer> => await app.inject(
    { url: '/a.txt', headers: { authorization: basic('eve', password), accept: 'application/json' }, remoteAddress } as never)
  // fifty addresses of one /64, each its own guess, while the two checks running hang
  const flood = Array.from({ length: 50 }, async (_, i) => await from(`2001:db8:7:7::${i + 1}`, `guess ${i}`))
  await waitFor('the two checks running', () => calls === 2)
  const refused = (await Promise.all(flood.slice(2))).map((r) => [r.statusCode, r.headers['retry-after'], r.json().code])
  t.same(new Set(refused.map(String)), new Set(['429,1,FST_SERVE_DIR_LOGINS_PENDING']),
    'the 48 beyond its share: 429 at once, no place in the line')
  const first = from('192.0.2.9', 'right')
  const again = from('192.0.2.9', 'right')
  const wrong = [from('192.0.2.10', 'wrong'), from('192.0.2.11', 'wrong')]
  open()
  t.same([(await first).statusCode, (await again).statusCode], [200, 200], 'another client\'s first login: in the line, and in')
  t.same([(await wrong[0]).statusCode, (await wrong[1]).statusCode], [401, 401], 'a wrong one sent twice at once: both refused')
  t.same((await Promise.all(flood.slice(0, 2))).map((r) => r.statusCode), [401, 401])
  t.equal(calls, 4, 'the same header twice at once: one check')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('eve', 'right') } })).statusCode, 200)
  t.equal(calls, 4, 'and remembered')
})
