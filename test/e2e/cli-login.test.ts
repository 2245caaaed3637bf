// The login from the command line and from npm start: --auth (the password typed on a terminal,
// or from $SERVE_DIR_PASSWORD, never in argv), --auth-file, --hash-password, --token and
// --public-read; the startup warnings; health checks left open; the token kept out of the logs.
import t, { type Test } from 'tap'
import path from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { parseCli } from '../../lib/cli-args'
import { ownUrl, start, type Io } from '../../lib/command'
import { hashPassword } from '../../lib/serve-dir/auth/passwords'
import { startupWarnings } from '../../plugins/serve-dir'
import { HEALTH_PATH } from '../../routes/health'
import { PATIENCE, build, capture, captureLogs, command, spawnReaped, waitFor } from '../helper'

const CHEAP = { ln: 8, r: 8, p: 1 }
const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')

/** start() in this process with `env` as its environment and a stdin that is no terminal. */
async function run (t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status?: number, stdout: string, stderr: string, app?: import('fastify').FastifyInstance }> {
  const stdout = capture()
  const stderr = capture()
  const io: Io = { stdout: stdout.stream, stderr: stderr.stream, stdin: new PassThrough(), env }
  const started = await start([...args, '--log-format', 'python', '-l', 'warn'], io)
  if ('server' in started) {
    t.teardown(() => started.server.close())
    return { app: started.server, stdout: stdout.text(), stderr: stderr.text() }
  }
  return { status: started.status, stdout: stdout.text(), stderr: stderr.text() }
}

t.test('parseCli: the login flags, and what may not go together', async (t) => {
  t.same(parseCli(['--auth', 'bob'])?.login, { user: 'bob', file: undefined, token: false, publicRead: false })
  t.same(parseCli(['--auth-file', 'users', '--public-read', '-w', '2'])?.login, { user: undefined, file: 'users', token: false, publicRead: true })
  t.same(parseCli(['--token', '--public-read'])?.login, { user: undefined, file: undefined, token: true, publicRead: true })
  t.equal(parseCli([])?.login, undefined)
  t.equal(parseCli(['--hash-password', 'bob'])?.hashPasswordFor, 'bob')
  t.throws(() => parseCli(['--public-read']), { message: 'argument --public-read: only with --auth, --auth-file or --token' })
  t.throws(() => parseCli(['--auth', 'a', '--auth-file', 'f']), { message: 'argument --auth: not allowed with argument --auth-file' })
  t.throws(() => parseCli(['--token', '-w', '2']), { message: 'argument -w/--workers: not allowed with argument --token (--auth-file is)' })
  t.throws(() => parseCli(['--auth', 'a', '-w', '0']), { message: 'argument -w/--workers: not allowed with argument --auth (--auth-file is)' })
})

t.test('--token: the login link is printed, works once for the cookie, and is kept out of the request log', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a' })
  const r = await run(t, ['0', '-d', dir, '--token'])
  const app = r.app as import('fastify').FastifyInstance
  const port = (app.server.address() as AddressInfo).port
  const link = new RegExp(`^Login link \\(it holds the password, share it with care\\): (http://127\\.0\\.0\\.1:${port}/\\?token=([\\w-]{22}))$`, 'm').exec(r.stderr)
  t.ok(link, r.stderr)
  const token = (link as RegExpExecArray)[2]
  t.notMatch(r.stdout, token, 'stdout keeps Python\'s one line')
  t.notMatch(r.stderr, 'another device', 'no network address on loopback')
  t.equal((await app.inject('/a.txt')).statusCode, 401)
  const first = await app.inject(`/?token=${token}`)
  t.equal(first.statusCode, 200)
  t.equal((await app.inject({ url: '/a.txt', headers: { cookie: (first.headers['set-cookie'] as string).split(';')[0] } })).body, 'a')
  // a second process has a token of its own
  const other = await run(t, ['0', '-d', dir, '--token'])
  t.notMatch(other.stderr, token)
})

t.test('the login link names this machine as a browser can open it', async (t) => {
  const at = (address: string): AddressInfo => ({ address, port: 8000, family: '' })
  t.equal(ownUrl(at('0.0.0.0')), 'http://127.0.0.1:8000/')
  t.equal(ownUrl(at('::')), 'http://[::1]:8000/')
  t.equal(ownUrl(at('::1'), true), 'https://[::1]:8000/')
  t.equal(ownUrl(at('192.168.1.2')), 'http://192.168.1.2:8000/')
})

t.test('the app redacts ?token= in its request log', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  const { stream, lines } = captureLogs()
  const token = 'a-token-of-sixteen-or-more'
  const app = await build(t, ['--root', root], { logger: { level: 'info', stream } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/a.txt?token=${token}&x=1`)
  await waitFor('the log line', () => lines.some((l) => l.msg === 'request completed'))
  t.match(lines.find((l) => l.msg === 'request completed'), { url: '/a.txt?token=[redacted]&x=1' })
  t.notMatch(JSON.stringify(lines), token)
})

t.test('--auth USER with $SERVE_DIR_PASSWORD; without it and without a terminal, a usage error', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a' })
  const r = await run(t, ['0', '-d', dir, '--auth', 'bob'], { SERVE_DIR_PASSWORD: 's3cret pw' })
  const app = r.app as import('fastify').FastifyInstance
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 's3cret pw') } })).body, 'a')
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 'nope') } })).statusCode, 401)
  const none = await run(t, ['0', '-d', dir, '--auth', 'bob'])
  t.equal(none.status, 2)
  t.match(none.stderr, /serve-dir: error: argument --auth: type the password on a terminal, or set \$SERVE_DIR_PASSWORD\n$/)
  const empty = await run(t, ['0', '-d', dir, '--auth', 'bob'], { SERVE_DIR_PASSWORD: '' })
  t.equal(empty.status, 2)
  t.match(empty.stderr, 'is empty')
})

t.test('--hash-password makes a line --auth-file takes; a file in plain text or missing is one line, exit 1', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a', 'plain.htpasswd': 'bob:hunter2\n' })
  const made = await run(t, ['--hash-password', 'alice'], { SERVE_DIR_PASSWORD: 'alice pw' })
  t.equal(made.status, 0)
  t.match(made.stdout, /^alice:\$scrypt\$ln=15,r=8,p=3\$\S+\n$/)
  t.notMatch(made.stdout + made.stderr, 'alice pw', 'never the password')
  writeFileSync(path.join(dir, 'users'), '# who may come in\n' + made.stdout)
  const r = await run(t, ['0', '-d', dir, '--auth-file', path.join(dir, 'users'), '--public-read'])
  const app = r.app as import('fastify').FastifyInstance
  t.equal((await app.inject('/a.txt')).statusCode, 200, '--public-read')
  t.equal((await app.inject({ method: 'PUT', url: '/b.txt', payload: 'b' })).statusCode, 401, 'any write needs the login first')
  t.equal((await app.inject({ method: 'PUT', url: '/b.txt', payload: 'b', headers: { authorization: basic('alice', 'alice pw') } })).statusCode, 405, 'then: no uploads here')
  const plain = await run(t, ['0', '-d', dir, '--auth-file', path.join(dir, 'plain.htpasswd')])
  t.equal(plain.status, 1)
  t.match(plain.stderr, /^serve-dir: error: .*line 1: not a bcrypt or scrypt hash \(a password in plain text\?\)/m)
  const missing = await run(t, ['0', '-d', dir, '--auth-file', path.join(dir, 'nope')])
  t.equal(missing.status, 1)
  t.equal(missing.stderr, `serve-dir: error: --auth-file ${path.join(dir, 'nope')}: no such file\n`)
  t.equal((await run(t, ['--hash-password', 'a:b'], { SERVE_DIR_PASSWORD: 'x' })).status, 2, 'a user name with a colon')
  const folder = await run(t, ['0', '-d', dir, '--auth-file', dir])
  t.equal(folder.status, 1)
  t.match(folder.stderr, `serve-dir: error: --auth-file ${dir}: EISDIR`)
})

t.test('a password typed on a terminal: asked again for --hash-password; empty or different ones refused', async (t) => {
  // a terminal that types each line once it is asked for one (read() takes what comes after its prompt)
  const ask = async (...lines: string[]): Promise<{ status: number, stdout: string, stderr: string }> => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true })
    let prompts = ''
    const stderr = new Writable({
      write (chunk: Buffer, _encoding, done) {
        prompts += chunk.toString()
        if (/: $/.test(chunk.toString()) && lines.length > 0) setImmediate(() => stdin.write(lines.shift() + '\n'))
        done()
      }
    })
    const stdout = capture()
    const started = await start(['--hash-password', 'carol'], { stdout: stdout.stream, stderr, stdin, env: {} })
    return { status: (started as { status: number }).status, stdout: stdout.text(), stderr: prompts }
  }
  const same = await ask('pw one', 'pw one')
  t.equal(same.status, 0)
  t.match(same.stdout, /^carol:\$scrypt\$/)
  t.match(same.stderr, 'Password for carol: ')
  t.match(same.stderr, 'Again: ')
  t.notMatch(same.stderr, 'pw one', 'not shown')
  const differ = await ask('pw one', 'pw two')
  t.equal(differ.status, 2)
  t.match(differ.stderr, 'argument --hash-password: the passwords differ')
  const empty = await ask('')
  t.equal(empty.status, 2)
  t.match(empty.stderr, 'argument --hash-password: an empty password')
})

t.test('npm start: --auth-file and --public-read; health and readiness stay open', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', users: 'bob:' + await hashPassword('pw', CHEAP) + '\n' })
  const app = await build(t, ['--root', root, '--auth-file', path.join(root, 'users')])
  t.equal((await app.inject('/a.txt')).statusCode, 401)
  t.equal((await app.inject({ url: '/a.txt', headers: { authorization: basic('bob', 'pw') } })).body, 'a')
  t.equal((await app.inject(HEALTH_PATH)).statusCode, 200, 'health needs no login')
  const open = await build(t, ['--root', root, '--auth-file', path.join(root, 'users'), '--public-read'])
  t.equal((await open.inject('/a.txt')).statusCode, 200)
  await t.rejects(build(t, ['--root', root, '--public-read']), { code: 'FST_SERVE_DIR_INVALID_OPTION', message: /publicRead.*only with --auth-file/ })
  await t.rejects(build(t, ['--root', root, '--auth-file', path.join(root, 'nope')]), { code: 'FST_SERVE_DIR_INVALID_OPTION', message: /authFile/ })
})

t.test('startup warnings: uploads without a login, or a login without TLS, on a shared address', async (t) => {
  const auth = { token: 'x'.repeat(16) }
  t.same(startupWarnings('127.0.0.1', { uploads: true }, false), [], 'loopback: nothing to say')
  t.same(startupWarnings('::1', { uploads: true, auth }, false), [])
  t.match(startupWarnings('0.0.0.0', { uploads: true }, false), [/anyone who can reach this address can add files/])
  t.match(startupWarnings('::', { uploads: true, auth }, false), [/crosses the network unencrypted/])
  t.same(startupWarnings('192.168.1.2', { uploads: true, auth }, true), [], 'a login over HTTPS')
  t.same(startupWarnings('0.0.0.0', {}, false), [], 'reading only, no login')
  t.match(startupWarnings('0.0.0.0', { liveReload: true }, false), [/live reload is on/])
  t.same(startupWarnings('0.0.0.0', { liveReload: false }, false), [], 'live reload off')
  t.same(startupWarnings('127.0.0.1', { liveReload: { debounceMs: 10 } }, false), [], 'live reload on loopback')
})

t.test('--auth on a terminal: the password is typed without echo and is nowhere in the process\'s arguments', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a' })
  const password = 'typed-' + Math.random().toString(36).slice(2)
  // script(1) gives the command a terminal; its output is the terminal's, echo included
  const child = spawnReaped(t, 'script', ['-qfec', `${process.execPath} ${command()} 0 -d ${dir} --auth bob`, '/dev/null'], { env: { ...process.env, SERVE_DIR_PASSWORD: undefined } })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  await waitFor('the password prompt', () => out.includes('Password for bob: '))
  child.stdin.write(password + '\r')
  await waitFor('the first line', () => / port (\d+) /.test(out), PATIENCE)
  t.notMatch(out, password, 'not echoed')
  const port = Number((/ port (\d+) /.exec(out) as RegExpExecArray)[1])
  const res = await fetch(`http://127.0.0.1:${port}/a.txt`, { headers: { authorization: basic('bob', password) } })
  t.equal(res.status, 200)
  t.equal(await res.text(), 'a')
  const commandLines = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try { return [readFileSync(`/proc/${p}/cmdline`, 'utf8')] } catch { return [] }
  }).filter((c) => c.includes(dir))
  t.ok(commandLines.length >= 1, 'the command was found')
  t.notOk(commandLines.some((c) => c.includes(password)), 'the password is in no process\'s command line')
})

t.test('--trust-proxy: the throttle counts the address the proxy saw, not what the client wrote before it', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a', users: 'eve:' + await hashPassword('right', CHEAP) + '\n' })
  const r = await run(t, ['0', '-d', dir, '--auth-file', path.join(dir, 'users'), '--trust-proxy'])
  const app = r.app as import('fastify').FastifyInstance
  const statuses = []
  for (let i = 0; i < 8; i++) {
    // nginx's $proxy_add_x_forwarded_for: what the client sent, then the address nginx saw
    const forwarded = `10.0.${i}.1, 198.51.100.7`
    const headers = { authorization: basic('eve', `guess ${i}`), 'x-forwarded-for': forwarded }
    statuses.push((await app.inject({ url: '/a.txt', remoteAddress: '127.0.0.1', headers } as never)).statusCode)
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429, 429])
  const headers = { authorization: basic('eve', 'right'), 'x-forwarded-for': '198.51.100.8' }
  const other = await app.inject({ url: '/a.txt', remoteAddress: '127.0.0.1', headers } as never)
  t.equal(other.statusCode, 200, 'another client behind the proxy goes on')
  t.equal(other.body, 'a')
})
