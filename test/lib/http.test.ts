import t from 'tap'
import { cacheControl, pickEncoding } from '../../lib/serve-dir/http'

t.test('cacheControl: always revalidate unless asked', async (t) => {
  t.equal(cacheControl({ maxAge: 0, immutable: false }), 'no-cache')
  t.equal(cacheControl({ maxAge: 0, immutable: true }), 'no-cache')
  t.equal(cacheControl({ maxAge: 3600, immutable: false }), 'public, max-age=3600')
  t.equal(cacheControl({ maxAge: 31536000, immutable: true }), 'public, max-age=31536000, immutable')
})

t.test('pickEncoding honours q-values and refusals', async (t) => {
  const both = ['br', 'gzip'] as const
  t.equal(pickEncoding(undefined, both), undefined)
  t.equal(pickEncoding('gzip, deflate, br', both), 'br')
  t.equal(pickEncoding('gzip', both), 'gzip')
  t.equal(pickEncoding('br;q=0.5, gzip', both), 'gzip')
  t.equal(pickEncoding('br;q=0, *', both), 'gzip', 'an explicit refusal beats *')
  t.equal(pickEncoding('identity', both), undefined)
  t.equal(pickEncoding('gzip;q=0', both), undefined)
  t.equal(pickEncoding('GZIP', both), 'gzip')
  t.equal(pickEncoding('br', ['gzip']), undefined)
  t.equal(pickEncoding('br', []), undefined)
})
