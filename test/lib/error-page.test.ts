import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { errorHandler, errorHtml } from '../../lib/serve-dir/error-page'
import { setup } from '../helper'

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

t.test('file-system errors that reach the handler get a 4xx and lose the file\'s validators', async (t) => {
  const app = Fastify()
  app.setErrorHandler(errorHandler)
  const fsError = (code: string) => Object.assign(new Error(`${code}: open '/x'`), { code, path: '/x' })
  const cases = [['EACCES', 403], ['EPERM', 403], ['ENOENT', 404], ['EISDIR', 404], ['ELOOP', 404], ['EMFILE', 503], ['ENFILE', 503]] as const
  for (const [code] of cases) {
    app.get('/' + code, async (_req, reply) => {
      reply.header('etag', '"x"').header('last-modified', 'Wed, 25 Nov 2026 08:55:54 GMT').header('accept-ranges', 'bytes')
      throw fsError(code)
    })
  }
  t.teardown(() => app.close())
  for (const [code, status] of cases) {
    const res = await app.inject({ url: '/' + code, headers: { accept: 'application/json' } })
    t.equal(res.statusCode, status, code)
    t.equal(res.json().code, code)
    t.notOk(res.headers.etag, `${code}: no etag`)
    t.notOk(res.headers['last-modified'], `${code}: no last-modified`)
    t.notOk(res.headers['accept-ranges'], `${code}: no accept-ranges`)
    t.equal(res.headers['retry-after'], status === 503 ? '1' : undefined, `${code}: retry-after only when worth retrying`)
  }
})

t.test('a 404 or 403 page links up to the folder; other errors do not', async (t) => {
  const app = await setup(t, { sub: { 'a.txt': 'a' }, '.hidden': 'h' })
  t.match((await app.inject('/sub/missing.txt')).body, '<p><a href="./">Up to the folder</a></p>', 'a missing file: its folder')
  t.match((await app.inject('/sub/gone/?x=1')).body, '<p><a href="../">Up to the folder</a></p>', 'a missing folder: the one above')
  t.notMatch((await app.inject('/%zz')).body, 'Up to the folder', 'a 400 says only what was wrong')
  t.match(errorHtml(404, 'x', './'), '<a href="./">')
  t.notMatch(errorHtml(404, 'x'), '<a ')
})
