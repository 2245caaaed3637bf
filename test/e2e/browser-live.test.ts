// Live reload in a real browser (Debian's Chromium), served by the command itself
// (`serve-dir --live-reload`): a save reloads the page (timed), a stylesheet is swapped without
// one, an atomic save is one reload, ten tabs share one stream, a page's own CSP allows the
// script, fetched HTML is left alone, a frame reloads with its page, a listing with its folder.
import t from 'tap'
import path from 'node:path'
import { renameSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'
import { capture } from '../helper'
import { start } from '../../lib/command'
import { NO_CHROMIUM, launch, patient, watch } from '../browser'

const page = (title: string, extra = ''): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${extra}` +
  '<link rel="stylesheet" href="style.css"></head><body><h1>' + title + '</h1></body></html>\n'

t.test('live reload in Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const dir = t.testdir({
    'index.html': page('v1'),
    'style.css': 'h1 { color: rgb(0, 0, 255) }',
    'csp.html': page('csp1', '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'),
    'frag.html': '<li>a fragment</li>',
    'outer.html': page('outer').replace('</body>', '<iframe src="inner.html"></iframe></body>'),
    'inner.html': page('inner1'),
    sub: { 'a.txt': 'a' }
  })
  const stderr = capture()
  const started = await start(['0', '-d', dir, '--live-reload', '-l', 'silent'], { stdout: capture().stream, stderr: stderr.stream })
  if (!('server' in started)) throw new Error(`did not start: ${stderr.text()}`)
  t.teardown(() => started.server.close())
  const base = `http://127.0.0.1:${(started.server.server.address() as AddressInfo).port}`
  const browser = await launch(t)
  const save = (name: string, text: string): void => { writeFileSync(path.join(dir, name), text) }

  /** A fresh browser (context) and the event streams its pages open. */
  async function fresh (): Promise<{ context: BrowserContext, streams: string[] }> {
    const context = patient(await browser.newContext())
    const streams: string[] = []
    context.on('request', (r) => { if (r.url().endsWith('/.serve-dir/live')) streams.push(r.frame().url()) })
    t.teardown(() => context.close())
    return { context, streams }
  }
  /** `page` at `url`, once its stream is open (by it or by another tab of its browser). */
  async function opened (context: BrowserContext, url: string, streams: string[]): Promise<Page> {
    const p = await context.newPage()
    await p.goto(base + url)
    await p.waitForFunction(() => (window as unknown as { __serveDirLive?: boolean }).__serveDirLive === true)
    await waitUntil(() => streams.length > 0)
    return p
  }
  async function waitUntil (ok: () => boolean): Promise<void> {
    const deadline = Date.now() + 20_000
    while (!ok()) {
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  await t.test('saving index.html reloads the page, soon after the save', async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/', streams)
    const problems = await watch(p)
    const times: number[] = []
    for (const v of ['v2', 'v3', 'v4']) {
      const saved = Date.now()
      save('index.html', page(v))
      await p.waitForFunction((v) => document.querySelector('h1')?.textContent === v, v)
      // when the new page's navigation began, by the browser's clock (this machine's)
      const began = await p.evaluate(() => performance.timeOrigin)
      times.push(Math.round(began - saved))
    }
    t.comment(`save to reload: ${times.join(', ')} ms (debounce 150 ms)`)
    t.ok(times.every((ms) => ms > 0 && ms < 5000), 'each save reloaded the page')
    t.same(problems, [], 'no errors, no failed load')
  })

  await t.test('saving style.css swaps the stylesheet in place: no navigation, no second reload', async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/', streams)
    await p.evaluate(() => { (window as unknown as { marker: number }).marker = 42 })
    save('style.css', 'h1 { color: rgb(255, 0, 0) }')
    await p.waitForFunction(() => getComputedStyle(document.querySelector('h1') as Element).color === 'rgb(255, 0, 0)')
    t.equal(await p.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the page was not reloaded')
    await p.waitForFunction(() => document.querySelectorAll('link[rel=stylesheet]').length === 1)
    t.pass('the old sheet went once the new one had loaded')
  })

  await t.test('an atomic save (a temp file renamed over the page) is one reload', async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/', streams)
    let loads = 0
    p.on('load', () => { loads++ })
    writeFileSync(path.join(dir, '.index.html.swp'), 'vim')
    writeFileSync(path.join(dir, '.index.html.tmp'), page('atomic'))
    renameSync(path.join(dir, '.index.html.tmp'), path.join(dir, 'index.html'))
    await p.waitForFunction(() => document.querySelector('h1')?.textContent === 'atomic')
    await p.evaluate(() => { (window as unknown as { marker: number }).marker = 7 })
    // a stylesheet change after it: a second reload of the save would come first, and lose the marker
    save('style.css', 'h1 { color: rgb(0, 128, 0) }')
    await p.waitForFunction(() => getComputedStyle(document.querySelector('h1') as Element).color === 'rgb(0, 128, 0)')
    t.equal(await p.evaluate(() => (window as unknown as { marker?: number }).marker), 7, 'no second reload')
    t.equal(loads, 1, 'one load after the save')
  })

  await t.test('ten tabs over HTTP/1.1 all load, share one stream, and all reload', async (t) => {
    const { context, streams } = await fresh()
    const tabs: Page[] = []
    for (let i = 0; i < 10; i++) tabs.push(await opened(context, '/', streams))
    t.equal(streams.length, 1, 'one stream for the ten tabs')
    save('index.html', page('ten'))
    for (const tab of tabs) await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'ten')
    t.pass('all ten reloaded')
    t.ok(streams.length <= 2, `still one browser's stream (${streams.length} opened: the leader's, maybe again after its reload)`)
  })

  await t.test("a page whose own CSP is default-src 'self' runs the script and reloads", async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/csp.html', streams)
    const problems = await watch(p)
    save('csp.html', page('csp2', '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'))
    await p.waitForFunction(() => document.querySelector('h1')?.textContent === 'csp2')
    t.same(problems, [], 'no CSP violation')
  })

  await t.test('HTML fetched by a script gets no script tag', async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/', streams)
    t.equal(await p.evaluate(async () => await (await fetch('frag.html')).text()), '<li>a fragment</li>')
  })

  await t.test('a frame reloads with its page and opens no stream of its own', async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/outer.html', streams)
    const inner = p.frameLocator('iframe').locator('h1')
    await inner.waitFor()
    t.equal(await inner.textContent(), 'inner1')
    t.equal(await p.frames()[1].evaluate(() => (window as unknown as { __serveDirLive?: boolean }).__serveDirLive), true, 'the frame has the script')
    save('inner.html', page('inner2'))
    await p.frameLocator('iframe').locator('h1', { hasText: 'inner2' }).waitFor()
    t.same(streams.filter((u) => !u.endsWith('/outer.html')), [], 'no stream opened by the frame')
  })

  await t.test("a folder's listing reloads when the folder changes", async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/sub/', streams)
    save(path.join('sub', 'new.txt'), 'new')
    await p.locator('tr[data-name="new.txt"]').waitFor()
    t.pass('the new file is listed')
  })
})
