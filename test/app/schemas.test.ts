// The app's server options load Fastify's schema compilers only when a route has a schema: a host
// route that has one is still validated and serialized as Fastify would.
import t from 'tap'
import Fastify from 'fastify'
import { limitOptions } from '../../lib/server'

t.test('a route with schemas on the app\'s server options: validated and serialized', async (t) => {
  const app = Fastify({ ...limitOptions })
  t.teardown(() => app.close())
  app.post('/sum', {
    schema: {
      body: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
      response: { 200: { type: 'object', properties: { sum: { type: 'integer' } } } }
    }
  }, async (req) => {
    const { a, b } = req.body as { a: number, b: number }
    return { sum: a + b, secret: 'left out by the response schema' }
  })
  const ok = await app.inject({ method: 'POST', url: '/sum', payload: { a: 2, b: '3' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { sum: 5 }, 'coerced by Ajv, filtered by fast-json-stringify')
  const bad = await app.inject({ method: 'POST', url: '/sum', payload: { a: 2 } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, "must have required property 'b'")
})
