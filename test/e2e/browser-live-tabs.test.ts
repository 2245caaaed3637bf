// Live reload in a real browser (Debian's Chromium), across pages: ten tabs share one stream and
// all reload, fetched HTML is left alone, a frame reloads with its page without a stream of its
// own, and a listing reloads with its folder.
import t from 'tap'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { NO_CHROMIUM } from '../browser'
import { liveBrowser, page } from '../browser-live'

t.test('live reload in Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const { save, fresh, opened } = await liveBrowser(t)
  await t.test('ten tabs over HTTP/1.1 all load, share one stream, and all reload', async (t) => {
    const { context, streams, most } = await fresh()
    const tabs: Page[] = []
    for (let i = 0; i < 10; i++) tabs.push(await opened(context, '/', streams))
    t.equal(streams.length, 1, 'one stream for the ten tabs')
    for (const v of ['ten', 'ten again']) {
      save('index.html', page(v))
      for (const tab of tabs) await tab.waitForFunction((v) => document.querySelector('h1')?.textContent === v, v)
      t.pass(`all ten reloaded (${v}): a new leader took over the stream`)
    }
    // as the tabs reload one by one, the lock passes from tab to tab, each opening the stream anew
    t.comment(`${streams.length} streams opened in turn over two reloads of ten tabs; at most ${most()} at once`)
    t.ok(most() <= 2, 'never more than the leader\'s stream and its successor\'s at once')
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
