import t from 'tap'
import { createHash } from 'node:crypto'
import { setup } from '../helper'

t.test('nosniff everywhere; a strict policy on listings and error pages', async (t) => {
  const app = await setup(t, { 'a.txt': 'a', d: { 'x.txt': 'x' } })
  for (const url of ['/a.txt', '/d/', '/missing', '/d', '/%00']) {
    const res = await app.inject(url)
    t.equal(res.headers['x-content-type-options'], 'nosniff', url)
  }
  const listing = await app.inject('/d/')
  const csp = listing.headers['content-security-policy'] as string
  t.match(csp, /^default-src 'none'; style-src 'sha256-[\w+/=]+'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/)
  t.equal(listing.headers['referrer-policy'], 'no-referrer')
  t.notMatch(listing.body, '<script', 'no script at all')
  // the one inline style is the one the policy allows
  const style = /<style>([^<]*)<\/style>/.exec(listing.body)?.[1] as string
  t.equal(`'sha256-${createHash('sha256').update(style).digest('base64')}'`, /style-src ('[^']+')/.exec(csp)?.[1])
  t.equal(listing.body.split('<style').length, 2, 'one style element')
  t.notMatch(listing.body, / style=/, 'no style attributes')
  t.equal((await app.inject('/missing')).headers['content-security-policy'], "default-src 'none'")
})

t.test('downloadHtml sends pages and SVG as attachments', async (t) => {
  const tree = { 'page.html': '<script>alert(1)</script>', 'café.htm': '<p>', 'i.svg': '<svg/>', 'x.xhtml': '<x/>', 'a.txt': 'a' }
  const off = await setup(t, tree)
  t.notOk((await off.inject('/page.html')).headers['content-disposition'], 'off by default')
  const on = await setup(t, tree, { downloadHtml: true })
  t.equal((await on.inject('/page.html')).headers['content-disposition'], 'attachment; filename=page.html')
  t.equal((await on.inject('/caf%C3%A9.htm')).headers['content-disposition'], "attachment; filename=\"caf?.htm\"; filename*=UTF-8''caf%C3%A9.htm")
  t.match((await on.inject('/i.svg')).headers['content-disposition'], /^attachment/)
  t.match((await on.inject('/x.xhtml')).headers['content-disposition'], /^attachment/)
  t.notOk((await on.inject('/a.txt')).headers['content-disposition'])
})
