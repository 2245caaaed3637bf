// The HTTP/1.1 clients of an --http2 server get plain HTTP's headers deadline: Node's HTTP/2 server
// applies none of node:http's timeouts to them, so a slowloris client could stay for good.
import t from 'tap'
import http2 from 'node:http2'
import path from 'node:path'
import tls from 'node:tls'
import { once } from 'node:events'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { LIMITS, cutSlowHttp1Headers } from '../../lib/server'
import { PATIENCE, startCommand } from '../helper'

function certs (dir: string): { cert: string, key: string } {
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  return { cert, key }
}

/** An HTTP/1.1-over-TLS client that sends a request line and then one header line every 200 ms. */
function trickle (port: number): { socket: tls.TLSSocket, closed: Promise<number> } {
  const started = Date.now()
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
  })
  const timer = setInterval(() => { if (socket.writable) socket.write('X-Slow: 1\r\n') }, 200).unref()
  // cut off, the client may see a reset: that is the close this waits for
  socket.on('error', () => {})
  socket.resume()
  const closed = new Promise<number>((resolve) => socket.once('close', () => { clearInterval(timer); resolve(Date.now() - started) }))
  return { socket, closed }
}

/** One whole request over HTTP/1.1 on a fresh TLS connection; resolves with its first line. */
async function get (port: number, target: string): Promise<string> {
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
  await once(socket, 'secureConnect')
  socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  let got = ''
  socket.setEncoding('utf8').on('data', (d: string) => { got += d })
  await once(socket, 'close')
  return got.split('\r\n')[0]
}

t.test('cutSlowHttp1Headers: a trickling client is cut at the deadline, a prompt one is served and then kept to it', async (t) => {
  const { cert, key } = certs(t.testdir({}))
  const server = http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true }, (_req, res) => { res.end('ok') })
  const DEADLINE = 1000
  cutSlowHttp1Headers(server, DEADLINE)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const slow = trickle(port)
  t.equal(await get(port, '/'), 'HTTP/1.1 200 OK', 'others are served meanwhile')
  const after = await slow.closed
  t.ok(after >= DEADLINE - 50 && after < DEADLINE + PATIENCE, `cut after ${after} ms`)
  // h2 sessions are left to HTTP/2's own timeouts
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  t.teardown(() => session.close())
  const res = session.request({ ':path': '/' })
  const [headers] = await once(res, 'response') as [http2.IncomingHttpHeaders]
  t.equal(headers[':status'], 200)
  res.resume()
  await once(res, 'end')
})

t.test('serve-dir --http2: the HTTP/1.1 fallback cuts a slowloris client at the headers deadline', async (t) => {
  const dir = t.testdir({ www: { 'a.txt': 'a' } })
  const { cert, key } = certs(dir)
  const s = await startCommand(t, ['0', '-d', path.join(dir, 'www'), '--tls-cert', cert, '--tls-key', key, '--http2'])
  const slow = trickle(s.port)
  t.equal(await get(s.port, '/a.txt'), 'HTTP/1.1 200 OK')
  // it would stay as long as it trickles without the deadline; PATIENCE bounds a hang
  let bound: NodeJS.Timeout | undefined
  const after = await Promise.race([slow.closed, new Promise<number>((resolve) => { bound = setTimeout(() => resolve(-1), LIMITS.headersTimeout + PATIENCE) })])
  clearTimeout(bound)
  t.ok(after >= LIMITS.headersTimeout - 50, `cut after ${after} ms, at the ${LIMITS.headersTimeout} ms deadline`)
  slow.socket.destroy()
})
