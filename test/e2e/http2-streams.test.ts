// HTTP/2 clients that open many streams and read none: what they hold goes with them. The server
// runs from the built dist/ under a low `ulimit -n`, as a separate process, so that its descriptors
// run out while the streams' files are being opened (certificates made at test time).
import t from 'tap'
import path from 'node:path'
import http2 from 'node:http2'
import os from 'node:os'
import { once } from 'node:events'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import app from '../../app'
import { OneLineLogController } from '../../lib/request-log'
import { dropBodiesOfClosedStreams, serverOptions, tlsFromEnv } from '../../lib/server'
import { ProjectRoot, startServing, waitFor } from '../helper'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

function makeCerts (): { cert: string, key: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-dir-h2-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  return { cert, key }
}

/** A client that asks for `path` `count` times on one connection, at once, and reads nothing. */
function unread (port: number, path: string, count: number): http2.ClientHttp2Session {
  // streams beyond the server's limit are sent too (a hostile client does not wait for its SETTINGS)
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, peerMaxConcurrentStreams: 1000 })
  session.on('error', () => {})
  for (let i = 0; i < count; i++) {
    const stream = session.request({ ':path': path })
    stream.on('error', () => {})
    stream.pause()
  }
  return session
}

t.test('HTTP/2: unread streams closed with their connection leave no file open, even out of descriptors', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const LIMIT = 160
  const dir = t.testdir({ 'a.txt': 'small' })
  // sparse: no disk used
  writeFileSync(path.join(dir, 'big.bin'), '')
  truncateSync(path.join(dir, 'big.bin'), 8 * 1024 * 1024)
  const { cert, key } = makeCerts()
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  const bin = path.join(ProjectRoot, 'dist', 'bin', 'serve-dir.js')
  const { child, port, stdout, stderr } = await startServing(t, 'sh', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" "${bin}" 0 -d "${dir}" -l error --tls-cert "${cert}" --tls-key "${key}" --http2`], { env })
  t.ok(port > 0, `started: ${stdout()}${stderr()}`)
  const links = (): string[] => readdirSync(`/proc/${child.pid}/fd`).map((fd) => {
    try { return readlinkSync(`/proc/${child.pid}/fd/${fd}`) } catch { return '' }
  })
  const files = (): number => links().filter((l) => l.endsWith('big.bin')).length
  const idle = links().length

  // two connections of 101 streams each (one over the limit of 100): more files than descriptors
  const sessions = [unread(port, '/big.bin', 101), unread(port, '/big.bin', 101)]
  t.teardown(() => { for (const s of sessions) s.destroy() })
  await waitFor('the descriptors to run out', () => links().length >= LIMIT - 8)
  for (const s of sessions) s.destroy()
  await waitFor('every file to be closed', () => files() === 0)
  t.pass('no descriptor of the file is left')
  await waitFor('the descriptors back to idle', () => links().length <= idle)

  // and the server still answers
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  const req = session.request({ ':path': '/a.txt' })
  const [h] = await once(req, 'response') as [http2.IncomingHttpHeaders]
  let body = ''
  req.setEncoding('utf8').on('data', (d: string) => { body += d })
  await once(req, 'end')
  t.equal(h[':status'], 200)
  t.equal(body, 'small')
})

t.test('HTTP/2: a body piped into a response whose stream has closed is destroyed', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const { cert, key } = makeCerts()
  const server = http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key) })
  const bodies: Readable[] = []
  let arrived = false
  server.on('request', (_req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    arrived = true
    dropBodiesOfClosedStreams(res)
    // the body comes after the client went, as a file whose open was under way does: Node's
    // finished(res), which Fastify waits on to destroy it, never calls back for a closed response
    res.once('close', () => {
      const body = new Readable({ read () {} })
      bodies.push(body)
      body.pipe(res)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const session = http2.connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  const stream = session.request({ ':path': '/' })
  stream.on('error', () => {})
  await waitFor('the request to arrive', () => arrived)
  session.destroy()
  await waitFor('the body to be piped', () => bodies.length === 1)
  await waitFor('the body to be destroyed', () => bodies[0].destroyed)
  t.pass('destroyed')
})

t.test('HTTP/2: streams open at once per client address, over all its connections, are bounded', { skip: !hasOpenssl && 'no openssl' }, async (t) => {
  const dir = t.testdir({ 'a.txt': 'small' })
  writeFileSync(path.join(dir, 'big.bin'), '')
  truncateSync(path.join(dir, 'big.bin'), 8 * 1024 * 1024)
  const { cert, key } = makeCerts()
  const tls = tlsFromEnv({ SERVE_DIR_TLS_CERT: cert, SERVE_DIR_TLS_KEY: key, SERVE_DIR_HTTP2: '1' })
  const lines: Array<Record<string, unknown>> = []
  const server = Fastify({
    ...serverOptions({ ...tls, logController: new OneLineLogController() }),
    logger: { level: 'info', stream: { write: (l: string) => { lines.push(JSON.parse(l)) } } }
  })
  await server.register(app, { root: dir, http2ClientStreams: 3 })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const port = (server.server.address() as AddressInfo).port
  // three unread downloads over two connections take the address's whole budget
  const first = unread(port, '/big.bin', 2)
  const second = unread(port, '/big.bin', 1)
  t.teardown(() => { first.destroy(); second.destroy() })
  const opened = (): number => readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`).endsWith('big.bin') } catch { return false }
  }).length
  await waitFor('three downloads under way', () => opened() === 3)
  const get = async (session: http2.ClientHttp2Session): Promise<[number, string, string | undefined]> => {
    const req = session.request({ ':path': '/a.txt' })
    const [h] = await once(req, 'response') as [http2.IncomingHttpHeaders]
    let body = ''
    req.setEncoding('utf8').on('data', (d: string) => { body += d })
    await once(req, 'end')
    return [Number(h[':status']), body, h['retry-after'] as string | undefined]
  }
  const third = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  t.teardown(() => third.close())
  t.same(await get(third), [503, '503 Service Unavailable: too many streams open from this address\n', '1'], 'a fourth stream, on a new connection: 503')
  t.ok(lines.some((l) => l.msg === 'too many HTTP/2 streams from this address' && l.statusCode === 503), 'logged')
  first.destroy()
  await waitFor('the first connection\'s downloads to close', () => opened() === 1)
  t.same(await get(third), [200, 'small', undefined], 'served once the budget has room again')
})

t.test('http2ClientStreams must be a whole number of at least 1', async (t) => {
  const server = Fastify()
  t.teardown(() => server.close())
  await t.rejects(async () => { await server.register(app, { root: t.testdir({}), http2ClientStreams: 0 }) }, { code: 'FST_SERVE_DIR_INVALID_OPTION', message: /http2ClientStreams/ })
})
