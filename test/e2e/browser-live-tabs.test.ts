// Live reload in a real browser (Debian's Chromium): ten tabs share one stream and all reload.
// Fetched HTML, frames and listings are in browser-live-frames.test.ts (split to stay well inside
// the 30 s a test file may take on a busy machine).
import t from 'tap'
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
    // the browser reports a reloaded tab's stream as ended a little late, so a hand-over may show
    // two or three at once; six would stall the next page load of this host on HTTP/1.1
    t.ok(most() < 6, 'never so many streams at once that a page load waits for a connection')
  })
})
