import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { errorHandler, errorHtml } from '../../lib/serve-dir/respond'

t.test('a 5xx is logged with its stack and answered without internals', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  app.setErrorHandler(errorHandler)
  app.get('/boom', async () => { throw new Error('secret internal detail') })
  app.get('/odd', async () => { throw Object.assign(new Error('odd'), { statusCode: 200 }) })
  t.teardown(() => app.close())

  const html = await app.inject('/boom')
  t.equal(html.statusCode, 500)
  t.notMatch(html.body, 'secret internal detail')
  t.match(html.body, '<h1>500 Internal Server Error</h1>')
  const js = await app.inject({ url: '/boom', headers: { accept: 'application/json' } })
  t.same(js.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' })
  t.match(lines.find((l) => l.level === 50), { msg: 'request failed', err: { message: 'secret internal detail', stack: String } })
  t.equal((await app.inject('/odd')).statusCode, 500, 'an error without an error status is a 500')
})

t.test('errorHtml escapes what it echoes', async (t) => {
  t.match(errorHtml(404, '<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>')
})
