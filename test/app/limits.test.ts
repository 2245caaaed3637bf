import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { build, rawRequest, waitFor } from '../helper'
import { LIMITS, clientErrorHandler } from '../../lib/server'

async function listen (t: Test, args: string[] = []): Promise<number> {
  const app = await build(t, ['--root', t.testdir({ 'a.txt': 'a' }), ...args])
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

t.test('a request target over the limit is a 414; the limit is an option', async (t) => {
  const port = await listen(t)
  const long = '/' + 'a'.repeat(LIMITS.maxUrlLength)
  const res = await rawRequest(port, long)
  t.equal(res.statusCode, 414)
  t.match(res.body, '414 URI Too Long')
  t.equal((await rawRequest(port, '/a.txt')).body, 'a')
  const strict = await listen(t, ['--max-url-length', '10'])
  t.equal((await rawRequest(strict, '/a.txt?xxxxxxxxxxx')).statusCode, 414)
})

t.test('headers over the limit are a 431, with a plain answer and the connection closed', async (t) => {
  const port = await listen(t)
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('latin1').on('data', (d: string) => { text += d })
  socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(LIMITS.maxHeaderSize)}\r\n\r\n`)
  await once(socket, 'close')
  t.match(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/)
  t.match(text, 'Connection: close')
  t.match(text, /\r\n\r\n431 Request Header Fields Too Large\n$/)
  t.equal((await rawRequest(port, '/a.txt')).body, 'a', 'everyone else is still served')
})

t.test('a malformed request is a 400 from the parser', async (t) => {
  const port = await listen(t)
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('latin1').on('data', (d: string) => { text += d })
  socket.write('GET / HTTP/1.1\r\nHost x\r\n\r\n')
  await once(socket, 'close')
  t.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/)
})

t.test('--max-connections caps the connections held at once', async (t) => {
  const port = await listen(t, ['--max-connections', '2'])
  const held = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')]
  t.teardown(() => { for (const s of held) s.destroy() })
  // each held connection is answered once (keep-alive), so the server has surely counted it
  await Promise.all(held.map(async (s) => { s.write('GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'); await once(s, 'data') }))
  const third = await rawRequest(port, '/a.txt', { timeoutMs: 2000 }).catch(() => null)
  t.ok(third === null || Number.isNaN(third.statusCode), 'a third is dropped unanswered')
  for (const s of held) s.destroy()
  await waitFor('service again', async () => (await rawRequest(port, '/a.txt').catch(() => null))?.body === 'a')
  t.pass('and served again once they leave')
})

t.test('slowloris: hundreds of clients trickling headers do not stop anyone else, and are cut off', async (t) => {
  const app = await build(t, ['--root', t.testdir({ 'a.txt': 'a' })], { http: { maxHeaderSize: LIMITS.maxHeaderSize, headersTimeout: 1500, connectionsCheckingInterval: 250 }, requestTimeout: 3000 } as never)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const slow: net.Socket[] = []
  const answers: string[] = []
  t.teardown(() => { for (const s of slow) s.destroy() })
  for (let i = 0; i < 300; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.setEncoding('latin1').on('data', (d: string) => { answers.push(d) }).on('error', () => {})
    s.write('GET / HTTP/1.1\r\nX-Slow: ')
    slow.push(s)
  }
  // one more byte each, every 100 ms, for up to 3 s (bounded), while normal clients are served
  const trickle = setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('a') }, 100)
  t.teardown(() => clearInterval(trickle))
  const latencies: number[] = []
  for (let i = 0; i < 20; i++) {
    const began = Date.now()
    t.equal((await rawRequest(port, '/a.txt')).body, 'a')
    latencies.push(Date.now() - began)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(Math.max(...latencies) < 1000, `normal requests stay fast: max ${Math.max(...latencies)} ms`)
  const deadline = Date.now() + 3000
  while (slow.some((s) => !s.destroyed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  clearInterval(trickle)
  t.ok(slow.every((s) => s.destroyed || s.readableEnded), 'every trickling client was cut off')
  t.ok(answers.some((a) => a.startsWith('HTTP/1.1 408 Request Timeout')), 'with a 408')
})

t.test('thousands of idle keep-alive connections are held, and everyone is served', async (t) => {
  const port = await listen(t)
  const conns: net.Socket[] = []
  t.teardown(() => { for (const s of conns) s.destroy() })
  let ok = 0
  await Promise.all(Array.from({ length: 2000 }, async () => {
    const s = net.connect(port, '127.0.0.1')
    conns.push(s)
    s.on('error', () => {})
    s.write('GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n')
    const [d] = await once(s, 'data')
    if (String(d).startsWith('HTTP/1.1 200')) ok++
  }))
  t.equal(ok, 2000, 'all 2,000 answered, and now idle but open')
  t.equal(conns.filter((s) => s.destroyed).length, 0)
  t.equal((await rawRequest(port, '/a.txt')).body, 'a', 'one more is served at once')
})

t.test('the parser handler leaves a reset connection alone', async (t) => {
  const socket = new net.Socket()
  socket.destroy()
  const logged: unknown[] = []
  clientErrorHandler.call({ log: { info: (...a: unknown[]) => logged.push(a) } } as never, Object.assign(new Error('reset'), { code: 'ECONNRESET' }), socket)
  t.same(logged, [])
})

/** Sends `text` as it is and returns all that comes back before the server closes the connection. */
async function exchange (port: number, text: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  let out = ''
  socket.setEncoding('latin1').on('data', (d: string) => { out += d })
  socket.setTimeout(5000, () => socket.destroy())
  socket.write(text)
  await once(socket, 'close')
  return out
}

t.test('Host: one for HTTP/1.1, at most one for HTTP/1.0; else a logged 400 in the client\'s format', async (t) => {
  const port = await listen(t)
  const missing = await exchange(port, 'GET /a.txt HTTP/1.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n')
  t.match(missing, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(missing, '"code":"FST_SERVE_DIR_BAD_HOST"')
  const twice = await exchange(port, 'GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n')
  t.match(twice, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(twice, 'Missing or repeated Host header')
  t.match(await exchange(port, 'GET /a.txt HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\na$/, 'HTTP/1.0 needs none')
  t.match(await exchange(port, 'GET /a.txt HTTP/1.1\r\nHOST: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n/, 'any case')
})

t.test('a request target in absolute form is served as its path (RFC 9112 §3.2.2)', async (t) => {
  const port = await listen(t)
  for (const target of ['http://example.com/a.txt', 'HTTP://127.0.0.1:9/a.txt?x=1', 'https://h']) {
    const res = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    t.match(res, /^HTTP\/1\.1 200 OK\r\n/, target)
  }
  t.match(await exchange(port, 'GET http://h/sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 404 /)
  t.match(await exchange(port, 'GET *x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 (400|404) /, 'neither form: refused')
})

t.test('CONNECT gets a 405 with Allow, like any method not served, and the server goes on', async (t) => {
  const port = await listen(t)
  const res = await exchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.match(res, /^HTTP\/1\.1 405 Method Not Allowed\r\n/)
  t.match(res, /\r\nAllow: GET, HEAD\r\n/)
  t.equal((await rawRequest(port, '/a.txt')).body, 'a')

  // clients that reset right after CONNECT: the socket's error has a listener, no crash
  for (let i = 0; i < 30; i++) {
    const s = net.connect(port, '127.0.0.1')
    await once(s, 'connect')
    s.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    s.resetAndDestroy()
  }
  t.equal((await rawRequest(port, '/a.txt')).body, 'a', 'still serving')
})

t.test('a client that never closes its side after CONNECT is let go after the keep-alive timeout', async (t) => {
  const app = await build(t, ['--root', t.testdir({})])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const connections = async (): Promise<number> => await new Promise((resolve) => app.server.getConnections((_e, n) => resolve(n)))
  const stays = net.connect({ port: (app.server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => { stays.destroy() })
  stays.on('data', () => {}).on('end', () => {}) // reads the answer, and keeps its own side open
  stays.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  await once(stays, 'end')
  t.equal(await connections(), 1, 'answered, half open')
  await waitFor('the server to let go', async () => await connections() === 0, LIMITS.keepAliveTimeout + 3000)
  t.pass('let go')
})
