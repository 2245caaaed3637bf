// HTTPS and HTTP/2, with certificates made at test time (no key is ever committed).
import t from 'tap'
import path from 'node:path'
import http2 from 'node:http2'
import https from 'node:https'
import tls from 'node:tls'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { once } from 'node:events'
import { readdirSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import app from '../../app'
import { readTls, serverOptions, tlsFromEnv } from '../../lib/server'
import { OneLineLogController } from '../../lib/request-log'
import { start } from '../../lib/command'
import { PATIENCE, capture, exitOf, rawRequest, startCommand, waitFor } from '../helper'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

interface Certs { cert: string, key: string, encKey: string, passFile: string }

/** A self-signed certificate for localhost and its key, plain and encrypted; made once for the file. */
function certs (): Certs {
  made ??= makeCerts()
  return made
}
let made: Certs | undefined

function makeCerts (): Certs {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-dir-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  const encKey = path.join(dir, 'enc-key.pem')
  const passFile = path.join(dir, 'pass.txt')
  // an EC key: made in milliseconds, where RSA takes up to a second on a busy machine
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  writeFileSync(passFile, 's3cret\n')
  execFileSync('openssl', ['pkey', '-in', key, '-aes256', '-passout', 'pass:s3cret', '-out', encKey], { stdio: 'ignore' })
  return { cert, key, encKey, passFile }
}

/** The command in this process up to serving (these all fail before), its stderr captured. */
async function run (args: string[]): Promise<{ status: number, stderr: string }> {
  const stderr = capture()
  const started = await start(args, { stdout: capture().stream, stderr: stderr.stream })
  if ('server' in started) {
    await started.server.close()
    throw new Error('started')
  }
  return { status: started.status, stderr: stderr.text() }
}

interface H2Response { status: number, headers: http2.IncomingHttpHeaders, body: Buffer }

async function h2get (session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<H2Response> {
  const req = session.request({ ':path': path, ...headers })
  const chunks: Buffer[] = []
  const [h] = await once(req, 'response') as [http2.IncomingHttpHeaders]
  req.on('data', (c: Buffer) => chunks.push(c))
  await once(req, 'end')
  return { status: Number(h[':status']), headers: h, body: Buffer.concat(chunks) }
}

t.test('TLS flags follow Python\'s rules', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'wrong.txt': 'not the password\n' })
  const c = certs()
  const wrongPass = path.join(dir, 'wrong.txt')
  const otherKey = path.join(dir, 'other-key.pem')
  execFileSync('openssl', ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey], { stdio: 'ignore' })
  for (const [args, message] of [
    [['--tls-key', c.key], 'argument --tls-key: requires --tls-cert'],
    [['--tls-password-file', c.passFile], 'argument --tls-password-file: requires --tls-cert'],
    [['--http2'], 'argument --http2: requires --tls-cert']
  ] as const) {
    const r = await run(['0', ...args])
    t.equal(r.status, 2, args.join(' '))
    t.match(r.stderr, message)
  }
  for (const [args, message] of [
    [['--tls-cert', path.join(dir, 'missing.pem')], /^serve-dir: error: cannot read the TLS certificate .*missing\.pem: ENOENT\n$/],
    [['--tls-cert', c.cert, '--tls-key', c.encKey], /^serve-dir: error: cannot use the TLS certificate and key: the key in .*enc-key\.pem is encrypted; give a file holding its password with --tls-password-file \(SERVE_DIR_TLS_PASSWORD_FILE\)\n$/],
    [['--tls-cert', c.cert, '--tls-key', c.encKey, '--tls-password-file', wrongPass], /: the password in .*wrong\.txt does not open the key in .*enc-key\.pem\n$/],
    [['--tls-cert', c.cert], /: no private key OpenSSL can read in .*cert\.pem; name the key's file with --tls-key \(SERVE_DIR_TLS_KEY\)\n$/],
    [['--tls-cert', c.key, '--tls-key', c.key], /: no PEM certificate in .*key\.pem\n$/],
    [['--tls-cert', c.cert, '--tls-key', otherKey], /: .*key values mismatch/],
    [['--tls-cert', c.cert, '--tls-key', c.key, '--tls-password-file', path.join(dir, 'nope')], /cannot read the TLS password file/]
  ] as const) {
    const r = await run(['0', '-d', dir, ...args])
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr, message)
  }
})

t.test('serve-dir --tls-cert --tls-key --http2: the same site over h2, HTTP/1.1 for old clients', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'over tls', sub: { 'b.txt': 'bee' }, 'big.txt': 'x'.repeat(5000) })
  const c = certs()
  const { child, port, stdout, stderr } = await startCommand(t, ['0', '-d', dir, '--tls-cert', c.cert, '--tls-key', c.encKey, '--tls-password-file', c.passFile, '--http2', '--log-format', 'python', '--grace', '0.2'])
  t.equal(stdout(), `Serving HTTPS on 127.0.0.1 port ${port} (https://127.0.0.1:${port}/) ...\n`, `${stdout()}${stderr()}`)

  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  const file = await h2get(session, '/a.txt')
  t.equal(file.status, 200)
  t.equal(file.body.toString(), 'over tls')
  // Node's default is 4,294,967,295: one connection could hold a descriptor per stream
  t.equal(session.remoteSettings.maxConcurrentStreams, 100, 'a bounded number of streams per connection')
  // headers: the limit HTTP/1.1's parser applies (16 KiB), a 431 beyond it
  t.equal((await h2get(session, '/a.txt', { 'x-big': 'b'.repeat(12 * 1024) })).status, 200)
  t.equal((await h2get(session, '/a.txt', { 'x-big': 'b'.repeat(20 * 1024) })).status, 431)
  // HTTP/2 allows any token as a method: the ones we do not serve are all a 405
  for (const method of ['FOO', 'BREW', 'get', 'PROPFIND']) {
    const refused = await h2get(session, '/a.txt', { ':method': method })
    t.match(refused, { status: 405, headers: { allow: 'GET, HEAD' } }, method)
  }
  t.equal((await h2get(session, '/a.txt', { 'if-none-match': file.headers.etag as string })).status, 304)
  const range = await h2get(session, '/big.txt', { range: 'bytes=10-19' })
  t.equal(range.status, 206)
  t.equal(range.headers['content-range'], 'bytes 10-19/5000')
  t.equal(range.body.length, 10)
  const redirect = await h2get(session, '/sub')
  t.equal(redirect.status, 301)
  t.equal(redirect.headers.location, 'sub/')
  const listing = await h2get(session, '/sub/', { accept: 'application/json' })
  t.equal(JSON.parse(listing.body.toString()).entries[0].name, 'b.txt')
  const html = await h2get(session, '/')
  t.match(html.body.toString(), 'Directory listing for /')

  const h1 = await new Promise<string>((resolve, reject) => {
    https.get(`https://127.0.0.1:${port}/a.txt`, { rejectUnauthorized: false }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve(`${res.httpVersion} ${body}`))
    }).on('error', reject)
  })
  t.equal(h1, '1.1 over tls', 'HTTP/1.1 fallback')
  if (spawnSync('curl', ['--version']).stdout?.toString().includes('HTTP2') === true) {
    const r = spawnSync('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://127.0.0.1:${port}/sub/b.txt`], { encoding: 'utf8', timeout: PATIENCE })
    t.equal(r.stdout, '2 200', 'curl --http2')
  }
  await waitFor('the request line', () => stderr().includes('"GET /a.txt HTTP/2.0"'))
  t.match(stderr(), /(?:^|\n)127\.0\.0\.1 - - \[[^\]]+\] "GET \/a\.txt HTTP\/2\.0" 200 -\n/, 'Python\'s line says HTTP/2.0, and names the client')
  // the h2 session is still open: Node 20 holds the close until the grace period cuts it (this
  // crashed, exit 1, when the cut needed closeAllConnections()); Node 24 closes an idle session itself
  child.kill('SIGTERM')
  t.equal(await exitOf(child), 0, 'SIGTERM with a session open: a clean exit')
})

t.test('npm start over HTTPS: SERVE_DIR_TLS_* in the environment', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'from env' })
  const c = certs()
  t.same(tlsFromEnv({}), {}, 'nothing set: plain HTTP')
  const tls = tlsFromEnv({ SERVE_DIR_TLS_CERT: c.cert, SERVE_DIR_TLS_KEY: c.encKey, SERVE_DIR_TLS_PASSWORD_FILE: c.passFile, SERVE_DIR_HTTP2: '1' })
  t.equal(tls.http2, true)
  t.same(readTls({ cert: c.cert, key: c.key }).cert, readTls({ cert: c.cert, key: c.key }).cert)
  const server = Fastify(serverOptions({ ...tls, logController: new OneLineLogController() }))
  await server.register(app, { root: dir })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const session = http2.connect(`https://127.0.0.1:${(server.server.address() as AddressInfo).port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  t.equal((await h2get(session, '/a.txt')).body.toString(), 'from env')
})

t.test('the command serves what its own flags say: npm start\'s SERVE_DIR_TLS_* leave it plain HTTP', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'plain' })
  const c = certs()
  const env = { ...process.env, SERVE_DIR_TLS_CERT: c.cert, SERVE_DIR_TLS_KEY: c.key, SERVE_DIR_HTTP2: '1' }
  const { firstLine, port } = await startCommand(t, ['0', '-b', '127.0.0.1', '-d', dir], { env })
  t.match(firstLine, /^Serving HTTP on 127\.0\.0\.1 port \d+ \(http:\/\/127\.0\.0\.1:\d+\/\) \.\.\.$/)
  const res = await rawRequest(port, '/a.txt')
  t.equal(res.statusCode, 200, 'answered over plain HTTP, as the line says')
  t.equal(res.body, 'plain')
})

const hasCurlH2 = spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout?.includes('HTTP2') === true

t.test('HTTP/2: a client that vanishes mid-download leaves no socket or file open', { skip: (!hasOpenssl || !hasCurlH2) && 'no openssl or no curl with HTTP/2' }, async (t) => {
  const dir = t.testdir({})
  // bigger than curl's HTTP/2 window and the socket buffers together (sparse: no disk used)
  writeFileSync(path.join(dir, 'big.bin'), '')
  truncateSync(path.join(dir, 'big.bin'), 256 * 1024 * 1024)
  const c = certs()
  const tls = tlsFromEnv({ SERVE_DIR_TLS_CERT: c.cert, SERVE_DIR_TLS_KEY: c.key, SERVE_DIR_HTTP2: '1' })
  // a session timeout longer than curl's visit, shorter than Fastify's default 72 s
  const server = Fastify({ ...serverOptions({ ...tls, logController: new OneLineLogController() }), http2SessionTimeout: 1500 } as never)
  await server.register(app, { root: dir })
  await server.listen({ port: 0, host: '127.0.0.1' })
  const sessions: http2.ServerHttp2Session[] = []
  // Seen in CI about once in twenty runs, never reproduced in 120 loops here: with no descriptor
  // and no session left (both checked below), Node's server.close() still waited for a connection
  // it counted, and with nothing else in the event loop the file ended "test unfinished". The
  // listening socket is closed at once either way; the wait for the callback is bounded, and what
  // Node still counted is said in a comment.
  t.teardown(async () => {
    let timer: NodeJS.Timeout | undefined
    const closed = await Promise.race([
      server.close().then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false) }, 5000) })
    ])
    clearTimeout(timer)
    if (!closed) t.comment(`server.close() still waiting after 5 s: connections ${String((server.server as unknown as { _connections: number })._connections)}, resources ${process.getActiveResourcesInfo().join(',')}`)
  })
  server.server.on('session', (s: http2.ServerHttp2Session) => { sessions.push(s) })
  const fds = (): string[] => readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) } catch { return '' } })
  const sockets = (): number => fds().filter((l) => l.startsWith('socket:')).length
  const before = sockets()
  const url = `https://127.0.0.1:${(server.server.address() as AddressInfo).port}/big.bin`
  // curl reads slowly (the server's stream waits on flow control) and goes once the file is open:
  // on that event, not after a time, which a busy machine can spend on the handshake alone
  const curl = spawn('curl', ['-sk', '--http2', '--limit-rate', '1M', '-o', '/dev/null', url])
  await waitFor('the download to begin', () => fds().some((l) => l.endsWith('big.bin')))
  curl.kill('SIGKILL')
  await exitOf(curl)
  t.equal(sessions.length, 1, 'the download was over h2')
  // the session timeout (1.5 s) and the socket's grace (2 s) pass first: the bound is for a leak
  await waitFor('the file and the socket to be closed', () => sockets() <= before && !fds().some((l) => l.endsWith('big.bin')))
  t.pass('no descriptor left behind')
  // and the session is gone with its socket: else the server's close would wait for it, with
  // nothing left to wake the process (a busy run ended as "test unfinished" in the teardown)
  await waitFor('the session to be destroyed', () => sessions.length === 1 && sessions[0].destroyed)
  t.pass('the session is gone too')
})

t.test('HTTP/2 request log lines: the client\'s address and the body\'s bytes', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'from h2!', sub: { 'b.txt': 'b' } })
  const c = certs()
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (l: string) => { lines.push(JSON.parse(l)) } }
  const server = Fastify({ ...serverOptions({ ...tlsFromEnv({ SERVE_DIR_TLS_CERT: c.cert, SERVE_DIR_TLS_KEY: c.key, SERVE_DIR_HTTP2: '1' }), logController: new OneLineLogController() }), logger: { level: 'info', stream } })
  await server.register(app, { root: dir })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const session = http2.connect(`https://127.0.0.1:${(server.server.address() as AddressInfo).port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  const etag = (await h2get(session, '/a.txt')).headers.etag as string
  await h2get(session, '/a.txt', { ':method': 'HEAD' })
  await h2get(session, '/a.txt', { 'if-none-match': etag })
  await h2get(session, '/sub/?download=zip')
  await h2get(session, '/%zz') // refused by Fastify's router: logged through frameworkErrors
  await waitFor('five request lines', () => lines.filter((l) => l.msg === 'request completed').length === 5)
  const done = lines.filter((l) => l.msg === 'request completed')
  t.same(done.slice(0, 4).map((l) => [l.method, l.statusCode, l.bytes]), [['GET', 200, 8], ['HEAD', 200, 0], ['GET', 304, 0], ['GET', 200, null]], 'bytes of the body; unknown for a stream')
  t.equal(done[4].statusCode, 400)
  t.ok(done.every((l) => l.remoteAddress === '127.0.0.1'), 'the client\'s address on every line')
})

t.test('CONNECT over HTTP/2 and over the HTTP/1.1 fallback: 405 with Allow', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'a' })
  const c = certs()
  const server = Fastify(serverOptions({ ...tlsFromEnv({ SERVE_DIR_TLS_CERT: c.cert, SERVE_DIR_TLS_KEY: c.key, SERVE_DIR_HTTP2: '1' }), logController: new OneLineLogController() }))
  await server.register(app, { root: dir })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const port = (server.server.address() as AddressInfo).port
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  const connect = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' })
  const [h2] = await once(connect, 'response') as [http2.IncomingHttpHeaders]
  connect.resume()
  t.equal(h2[':status'], 405, 'h2')
  t.equal(h2.allow, 'GET, HEAD')
  const h1 = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
  t.teardown(() => { h1.destroy() })
  await once(h1, 'secureConnect')
  let text = ''
  h1.setEncoding('latin1').on('data', (d: string) => { text += d })
  h1.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  await once(h1, 'end')
  t.match(text, /^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*\r\nAllow: GET, HEAD\r\n/, 'HTTP/1.1 over TLS')
  t.equal((await h2get(session, '/a.txt')).body.toString(), 'a', 'still serving')
})
