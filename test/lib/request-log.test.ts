import t from 'tap'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { OneLineLogController, PythonLogController, escapeControl, loggedAddress, pythonDate, unroutedLine } from '../../lib/request-log'
import { redactToken } from '../../lib/serve-dir/auth/login'
import { PATIENCE, waitFor } from '../helper'
import serveDir from '../../lib/serve-dir'

t.test('a failure after the response is logged as one error line', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
  const app = Fastify({ logger: { level: 'info', stream }, logController: new OneLineLogController() })
  app.get('/', async () => 'ok')
  app.addHook('onResponse', async () => { throw new Error('hook failed') })
  t.teardown(() => app.close())
  await app.inject('/')
  // the hook fails after the response has gone out: wait for its line, not for a turn of the loop
  await waitFor('the error line', () => lines.some((l) => l.msg === 'request errored'))
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 50, msg: 'request errored', method: 'GET', url: '/', statusCode: 200, err: { message: 'hook failed' } })
})

t.test('the JSON line follows the log level', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (c, _e, cb) { lines.push(String(c)); cb() } })
  const app = Fastify({ logger: { level: 'warn', stream }, logController: new OneLineLogController() })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  await app.inject('/')
  t.same(lines, [])
})

t.test('disableRequestLogging still silences it', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (c, _e, cb) { lines.push(String(c)); cb() } })
  const app = Fastify({ logger: { level: 'info', stream }, logController: new OneLineLogController({ disableRequestLogging: true }) })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  t.equal((await app.inject('/')).body, 'ok')
  t.same(lines, [])
})

t.test('PythonLogController writes Python\'s line, control characters escaped', async (t) => {
  t.equal(pythonDate(new Date(2026, 10, 5, 8, 3, 9)), '05/Nov/2026 08:03:09')
  t.equal(escapeControl('a\x1b[31mb\x7f\r\n'), 'a\\x1b[31mb\\x7f\\x0d\\x0a')
  const lines: string[] = []
  const write = (s: string): number => lines.push(s)
  const app = Fastify({ logger: { level: 'warn' }, logController: new PythonLogController({ write }) })
  app.get('/*', async () => 'ok')
  t.teardown(() => app.close())
  await app.inject('/x?y=1')
  t.match(lines[0], /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "GET \/x\?y=1 HTTP\/1\.1" 200 -\n$/)
  const quiet = Fastify({ logger: { level: 'warn' }, logController: new PythonLogController({ write }, 'warn') })
  quiet.get('/*', async () => 'ok')
  t.teardown(() => quiet.close())
  await quiet.inject('/quiet')
  t.equal(lines.length, 1, 'at warn, no request lines')
})

/** Clients that connect, send `GET path` and close at once, `count` of them four at a time. */
async function hitAndRun (port: number, path: string, count: number): Promise<void> {
  const one = async (): Promise<void> => await new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      socket.destroy()
    })
    socket.on('close', () => { resolve() })
    socket.on('error', () => {})
  })
  for (let i = 0; i < count; i += 4) await Promise.all([one(), one(), one(), one()])
}

for (const [name, controller] of [
  ['JSON', () => new OneLineLogController()],
  ['Python', () => new PythonLogController({ write: () => true })]
] as const) {
  t.test(`${name} lines: a client that sends a request and goes at once never ends the process`, async (t) => {
    const lines: Array<Record<string, unknown>> = []
    const stream = new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
    const app: FastifyInstance = Fastify({ logger: { level: 'info', stream }, logController: controller() })
    await app.register(serveDir, { root: t.testdir({ 'index.html': '<p>page</p>'.repeat(200) }) })
    t.teardown(() => app.close())
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    // their sockets are gone when the answer is logged: request.ip reads undefined by then
    // (before: an uncaught TypeError within a few hundred such clients)
    const warnings: Error[] = []
    const onWarning = (w: Error): void => { warnings.push(w) }
    process.on('warning', onWarning)
    t.teardown(() => { process.off('warning', onWarning) })
    await hitAndRun(port, '/', 1000)
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(PATIENCE) })
    t.equal(res.status, 200, 'still serving')
    t.same(warnings, [], 'every line written')
    if (name === 'JSON') {
      const addresses = new Set(lines.filter((l) => l.msg === 'request completed').map((l) => l.remoteAddress))
      t.ok([...addresses].every((a) => a === '127.0.0.1' || a === '-'), `addresses: ${[...addresses].join(', ')}`)
    }
  })
}

t.test('a request line whose writing fails is a warning, never a throw', async (t) => {
  const app = Fastify({ logger: { level: 'warn' }, logController: new PythonLogController({ write: () => { throw new Error('EPIPE') } }) })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  const warned = once(process, 'warning')
  t.equal((await app.inject('/')).body, 'ok')
  const [warning] = await warned as [Error]
  t.match(warning.message, /a request's log line could not be written: EPIPE/)
  const json = Fastify({ logger: { level: 'info', stream: new Writable({ write (_c, _e, cb) { cb() } }) }, logController: new OneLineLogController() })
  json.get('/', async (_req, reply) => {
    // a log whose serialiser throws on what it is given
    reply.log.info = () => { throw new Error('serialiser') }
    return 'ok'
  })
  t.teardown(() => json.close())
  const again = once(process, 'warning')
  t.equal((await json.inject('/')).body, 'ok')
  t.match(((await again) as [Error])[0].message, /serialiser/)
})

t.test('the logged address: unknown as -, anything not an IP address escaped to printable ASCII', async (t) => {
  t.equal(loggedAddress(undefined), '-')
  t.equal(loggedAddress(''), '-')
  t.equal(loggedAddress('::1'), '::1')
  t.equal(loggedAddress('1.2.3.4\xa0- - [forged]'), '1.2.3.4\\xa0-\\x20-\\x20[forged]', 'a no-break space (before: passed as is)')
  t.equal(loggedAddress('x\x9b31m"\\'), 'x\\x9b31m\\x22\\x5c')
  t.equal(loggedAddress('a\u2028b'), 'a\\u2028b')
})

t.test('a login link\'s token is hidden however its name is encoded', async (t) => {
  t.equal(redactToken('/a?x=1&token=secret&y=2'), '/a?x=1&token=[redacted]&y=2')
  t.equal(redactToken('/a?TOKEN=secret'), '/a?TOKEN=[redacted]')
  t.equal(redactToken('/a?%74oken=secret&%54OKEN=s2'), '/a?%74oken=[redacted]&%54OKEN=[redacted]', 'before: shown')
  t.equal(redactToken('/a?mytoken=1&token'), '/a?mytoken=1&token=[redacted]')
  t.equal(redactToken('/a?token=s#frag'), '/a?token=[redacted]#frag')
  t.equal(redactToken('/a'), '/a')
})

t.test('lines for requests the router never sees: method and URL escaped as a request line\'s', async (t) => {
  t.same(unroutedLine({ method: 'F\x9bO', url: '/\x9b[2J?token=s', socket: { remoteAddress: undefined } }, 405), {
    method: 'F\\x9bO', url: '/\\x9b[2J?token=[redacted]', statusCode: 405, remoteAddress: '-'
  })
})
