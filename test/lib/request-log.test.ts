import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { OneLineLogController } from '../../lib/request-log'

t.test('a failure after the response is logged as one error line', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
  const app = Fastify({ logger: { level: 'info', stream }, logController: new OneLineLogController() })
  app.get('/', async () => 'ok')
  app.addHook('onResponse', async () => { throw new Error('hook failed') })
  t.teardown(() => app.close())
  await app.inject('/')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 50, msg: 'request errored', method: 'GET', url: '/', statusCode: 200, err: { message: 'hook failed' } })
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
