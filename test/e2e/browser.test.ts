// The listing in a real browser: Debian's Chromium driven by playwright-core (no browser
// download). Screenshots, light and dark, go to test-artifacts/ (git-ignored).
import t, { type Test } from 'tap'
import path from 'node:path'
import zlib from 'node:zlib'
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { build, ProjectRoot } from '../helper'
import { NO_CHROMIUM, launch, patient, watch } from '../browser'

const ARTIFACTS = path.join(ProjectRoot, 'test-artifacts')
const AWKWARD = ['a#b.txt', 'q?.txt', '100%.txt', 'two  spaces.txt', '😀 smile.txt', 'cafe\u0301 nfd.txt', 'amp&x.txt']

async function open (t: Test): Promise<{ base: string, browser: Browser, page: Page, problems: string[] }> {
  const tree: Record<string, unknown> = {
    'small.txt': 'small',
    'medium.bin': Buffer.alloc(5000),
    'large.bin': Buffer.alloc(3 * 1024 * 1024),
    docs: { 'readme.txt': 'read me', deeper: { 'x.txt': 'x' } },
    thousand: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`file-${String(i).padStart(4, '0')}.txt`, 'x'.repeat(i)]))
  }
  AWKWARD.forEach((name, i) => { tree[name] = `awkward ${i}` })
  const root = t.testdir(tree as never)
  utimesSync(path.join(root, 'small.txt'), new Date('2021-01-01'), new Date('2021-01-01'))
  utimesSync(path.join(root, 'medium.bin'), new Date('2023-01-01'), new Date('2023-01-01'))
  utimesSync(path.join(root, 'large.bin'), new Date('2022-01-01'), new Date('2022-01-01'))
  const app = await build(t, ['--root', root])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launch(t)
  const page = patient(await browser.newPage())
  const problems = await watch(page)
  return { base, browser, page, problems }
}

const names = async (page: Page): Promise<string[]> =>
  await page.$$eval('tbody tr:not(.up):not([hidden])', (rows) => rows.map((r) => r.getAttribute('data-name') as string))

t.test('the listing in Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const { base, browser, page, problems } = await open(t)
  mkdirSync(ARTIFACTS, { recursive: true })

  await t.test('opens, with title, table, icons and counts', async (t) => {
    await page.goto(base + '/')
    t.equal(await page.title(), 'Directory listing for /')
    t.equal(await page.textContent('h1'), 'Directory listing for /')
    t.ok((await names(page)).includes('docs'))
    t.equal(await page.locator('svg.i').count() >= 10, true, 'an icon per row')
    t.match(await page.textContent('footer'), /1 folder|2 folders/)
    t.equal(await page.getAttribute('th:nth-child(1)', 'aria-sort'), 'ascending')
    // the script ran: dates in the reader's locale, ISO kept in the title
    const time = page.locator('tr[data-name="small.txt"] time')
    t.equal(await time.getAttribute('title'), '2021-01-01T00:00:00.000Z')
    t.not(await time.textContent(), '2021-01-01 00:00', 'shown in the reader\'s locale')
    t.equal(await page.getAttribute('tr[data-name="medium.bin"] td.size', 'title'), '5000 bytes', 'exact bytes in the tooltip')
    t.equal(await page.textContent('tr[data-name="medium.bin"] td.size'), '4.8 KiB')
  })

  await t.test('into a folder and back by the breadcrumbs', async (t) => {
    await page.click('a[href="docs/"]')
    await page.waitForURL(base + '/docs/')
    await page.click('a[href="deeper/"]')
    await page.waitForURL(base + '/docs/deeper/')
    t.equal(await page.textContent('h1'), 'Directory listing for /docs/deeper/')
    t.equal(await page.getAttribute('.crumbs a[aria-current="page"]', 'href'), './')
    await page.click('.crumbs a:has-text("docs")')
    await page.waitForURL(base + '/docs/')
    await page.click('.crumbs a >> nth=0')
    await page.waitForURL(base + '/')
    t.pass('back at the top')
  })

  await t.test('sorting by size and by date, in the URL', async (t) => {
    await page.goto(base + '/')
    await page.click('th:nth-child(2) button')
    await page.waitForURL(/\?sort=size&order=asc$/)
    let files = (await names(page)).filter((n) => ['small.txt', 'medium.bin', 'large.bin'].includes(n))
    t.same(files, ['small.txt', 'medium.bin', 'large.bin'])
    t.equal(await page.getAttribute('th:nth-child(2)', 'aria-sort'), 'ascending')
    await page.click('th:nth-child(2) button')
    await page.waitForURL(/\?sort=size&order=desc$/)
    files = (await names(page)).filter((n) => ['small.txt', 'medium.bin', 'large.bin'].includes(n))
    t.same(files, ['large.bin', 'medium.bin', 'small.txt'])
    await page.click('th:nth-child(3) button')
    await page.waitForURL(/\?sort=mtime&order=asc$/)
    files = (await names(page)).filter((n) => ['small.txt', 'medium.bin', 'large.bin'].includes(n))
    t.same(files, ['small.txt', 'large.bin', 'medium.bin'])
  })

  await t.test('the filter is instant and kept in the URL', async (t) => {
    await page.goto(base + '/')
    await page.fill('#q', 'SMILE')
    t.same(await names(page), ['😀 smile.txt'])
    // page.url() follows the browser's report of the history change, which may come after fill()
    await page.waitForURL(/\?q=SMILE$/)
    t.match(page.url(), /\?q=SMILE$/)
    t.match(await page.textContent('#shown'), /^1 of \d+ shown$/)
    const separator = await page.$eval('#shown', (e) => getComputedStyle(e, '::before').content)
    t.equal(separator, '"· "', 'set off from the folder\'s totals before it')
    await page.press('#q', 'Escape')
    t.ok((await names(page)).length > 5, 'Escape clears it')
  })

  await t.test('keyboard: / to filter, arrows through the rows, Enter to open', async (t) => {
    await page.goto(base + '/')
    await page.keyboard.press('/')
    t.equal(await page.evaluate(() => document.activeElement?.id), 'q')
    await page.keyboard.press('ArrowDown')
    const first = await page.evaluate(() => document.activeElement?.textContent)
    t.equal(first, (await names(page))[0], 'the first row has the focus')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowUp')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), first)
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)
    t.equal(outline, 'solid', 'a visible focus')
  })

  await t.test('links with awkward names fetch those very files', async (t) => {
    for (const [i, name] of AWKWARD.entries()) {
      await page.goto(base + '/')
      await page.click(`tr[data-name="${name.replace(/"/g, '\\"')}"] a`)
      // the file's own page, loaded (waitForLoadState alone may still see the listing's)
      await page.waitForURL((u) => u.pathname !== '/')
      t.equal(await page.textContent('body'), `awkward ${i}`, name)
    }
  })

  await t.test('without JavaScript: sorting links and the filter form still work', async (t) => {
    const context = patient(await browser.newContext({ javaScriptEnabled: false }))
    const p = await context.newPage()
    await p.goto(base + '/')
    await p.fill('#q', 'txt')
    await p.click('form.filter button')
    await p.waitForURL(/\?q=txt$/)
    t.ok((await names(p)).every((n) => n.includes('txt')))
    await p.click('th:nth-child(2) button')
    await p.waitForURL(/sort=size&order=asc&q=txt/)
    t.pass('sorted, the filter kept')
    await context.close()
  })

  await t.test('a phone-sized screen: no sideways scrolling', async (t) => {
    const context = patient(await browser.newContext({ viewport: { width: 375, height: 700 } }))
    const p = await context.newPage()
    await p.goto(base + '/')
    t.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'fits the width')
    await context.close()
  })

  await t.test('screenshots, light and dark', async (t) => {
    for (const scheme of ['light', 'dark'] as const) {
      const context = patient(await browser.newContext({ colorScheme: scheme, viewport: { width: 900, height: 640 } }))
      const p = await context.newPage()
      await p.goto(base + '/')
      const file = path.join(ARTIFACTS, `listing-${scheme}.png`)
      await p.screenshot({ path: file })
      const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor)
      t.equal(bg, scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(255, 255, 255)', `${scheme} theme`)
      t.ok(existsSync(file))
      await context.close()
    }
  })

  await t.test('the page weight of a 1,000-entry folder', async (t) => {
    const res = await fetch(base + '/thousand/', { headers: { 'accept-encoding': 'identity' } })
    const html = Buffer.from(await res.arrayBuffer())
    const gz = zlib.gzipSync(html)
    const br = zlib.brotliCompressSync(html)
    t.comment(`1,000 entries: ${html.length} bytes of HTML, ${gz.length} gzip, ${br.length} brotli (plus the cached stylesheet and script)`)
    writeFileSync(path.join(ARTIFACTS, 'page-weight.txt'), `${html.length} ${gz.length} ${br.length}\n`)
    t.ok(html.length < 300 * 1024 && gz.length < 32 * 1024, 'under 300 KiB, under 32 KiB gzipped')
    await page.goto(base + '/thousand/')
    t.equal((await names(page)).length, 1000)
  })

  await t.test('--cors lets a page on another origin fetch files; without it the browser refuses', async (t) => {
    const root = t.testdir({ 'data.txt': 'shared data' })
    const open = await build(t, ['--root', root, '--cors'])
    const closed = await build(t, ['--root', root])
    const origins: string[] = []
    for (const a of [open, closed]) {
      await a.listen({ port: 0, host: '127.0.0.1' })
      origins.push(`http://127.0.0.1:${(a.server.address() as AddressInfo).port}`)
    }
    // a page served from yet another port (another origin)
    const { default: Fastify } = await import('fastify')
    const site = Fastify()
    site.get('/', async (_req, reply) => reply.type('text/html').send(`<!DOCTYPE html><title>site</title><script>
      Promise.all(${JSON.stringify(origins)}.map((o) => fetch(o + '/data.txt').then((r) => r.text(), () => 'refused')))
        .then((r) => { document.title = JSON.stringify(r) })</script>`))
    await site.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => site.close())
    const p = patient(await browser.newPage())
    await p.goto(`http://127.0.0.1:${(site.server.address() as AddressInfo).port}/`)
    await p.waitForFunction(() => document.title.startsWith('['))
    t.same(JSON.parse(await p.title()), ['shared data', 'refused'])
    await p.close()
  })

  t.same(problems, [], 'no console errors, no CSP violations, no failed loads')
})
