import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { OneLineLogController, PythonLogController, escapeControl, pythonDate } from '../../lib/request-log'
import { waitFor } from '../helper'

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
