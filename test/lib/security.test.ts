import t from 'tap'
import { setup } from '../helper'

t.test('nosniff everywhere; a strict policy on listings and error pages', async (t) => {
  const app = await setup(t, { 'a.txt': 'a', d: { 'x.txt': 'x' } })
  const etag = (await app.inject('/a.txt')).headers.etag as string
  for (const [url, headers] of [['/a.txt'], ['/a.txt', { 'if-none-match': etag }], ['/a.txt', { range: 'bytes=0-0' }], ['/d/'], ['/d/?download=zip'],
    ['/d/?download=rar'], ['/missing'], ['/d'], ['/%00'], ['/.serve-dir/']] as Array<[string, Record<string, string>?]>) {
    const res = await app.inject({ url, headers })
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url} ${res.statusCode}`)
  }
  for (const method of ['HEAD', 'GET'] as const) {
    const res = await app.inject({ method, url: '/d/x.txt' })
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${method} of a file in a folder`)
  }
  const listing = await app.inject('/d/')
  const csp = listing.headers['content-security-policy'] as string
  t.equal(csp, "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
  t.equal(listing.headers['referrer-policy'], 'same-origin')
  t.notMatch(listing.body, /<script>|<style| style=| on\w+=/, 'nothing inline: no script or style elements, attributes or handlers')
  // the page's own stylesheet and script, from the mount's reserved path, cached for good
  for (const asset of [/href="\.\.\/(\.serve-dir\/listing-[\w-]+\.css)"/, /src="\.\.\/(\.serve-dir\/listing-[\w-]+\.js)"/]) {
    const url = '/' + (asset.exec(listing.body)?.[1] as string)
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.match(res.headers['content-type'], /^text\/(css|javascript); charset=utf-8$/)
    t.equal((await app.inject({ url, headers: { 'if-none-match': res.headers.etag as string } })).statusCode, 304)
  }
  t.equal((await app.inject('/missing')).headers['content-security-policy'], "default-src 'none'")
})

t.test('the assets\' folder lists them, so that a client that follows every href (lftp mirror) finds what it links', async (t) => {
  const app = await setup(t, { d: {} }, { prefix: '/files' })
  const listing = await app.inject('/files/d/')
  const css = (/href="\.\.\/\.serve-dir\/(listing-[\w-]+\.css)"/.exec(listing.body) as RegExpExecArray)[1]
  const js = (/src="\.\.\/\.serve-dir\/(listing-[\w-]+\.js)"/.exec(listing.body) as RegExpExecArray)[1]
  const res = await app.inject('/files/.serve-dir/')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['content-security-policy'], listing.headers['content-security-policy'])
  t.match(res.body, '<title>Directory listing for /files/.serve-dir/</title>')
  t.match(res.body, `href="${css}"`)
  t.match(res.body, `href="${js}"`)
  t.match(res.body, 'href="./listing-', 'styled by them itself')
  t.equal((await app.inject('/files/.serve-dir/' + css)).statusCode, 200)
  t.equal((await app.inject('/files/.serve-dir/other')).statusCode, 404, 'nothing else is there')
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
