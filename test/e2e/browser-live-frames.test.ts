// Live reload in a real browser (Debian's Chromium), beyond the page itself: HTML fetched by a
// script is left alone, a frame reloads with its page without a stream of its own, and a listing
// reloads with its folder.
import t from 'tap'
import path from 'node:path'
import { NO_CHROMIUM } from '../browser'
import { liveBrowser, page } from '../browser-live'

t.test('live reload in Chromium, beyond the page', { skip: NO_CHROMIUM }, async (t) => {
  const { save, fresh, opened } = await liveBrowser(t)
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
