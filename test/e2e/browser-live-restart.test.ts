// Live reload in a real browser (Debian's Chromium), at the edges of the tab sharing: a server
// restarted under two tabs reloads both, and a browser without Web Locks gives each tab its own
// stream and acts on each save once per tab.
import t from 'tap'
import { NO_CHROMIUM } from '../browser'
import { liveBrowser } from '../browser-live'

t.test('live reload in Chromium, across a restart and without Web Locks', { skip: NO_CHROMIUM }, async (t) => {
  const { save, fresh, opened, restart } = await liveBrowser(t)
  type Marked = Window & { marker?: number }
  await t.test('a server restarted while two tabs are open reloads both, not only the one holding the stream', async (t) => {
    const { context, streams } = await fresh()
    const tabs = [await opened(context, '/', streams), await opened(context, '/', streams)]
    t.equal(streams.length, 1, 'one stream for the two tabs')
    for (const tab of tabs) await tab.evaluate(() => { (window as Marked).marker = 1 })
    await restart()
    for (const tab of tabs) await tab.waitForFunction(() => (window as Marked).marker === undefined)
    t.pass('both tabs reloaded')
  })

  await t.test('without Web Locks each tab keeps its own stream, and acts on each save once', async (t) => {
    const { context, streams } = await fresh({ noLocks: true })
    const tabs = [await opened(context, '/', streams), await opened(context, '/', streams)]
    t.equal(await tabs[0].evaluate(() => 'locks' in navigator), false, 'the browser has no Web Locks')
    t.equal(streams.length, 2, 'a stream per tab')
    for (const tab of tabs) await tab.evaluate(() => { (window as Marked).marker = 2 })
    for (const color of ['rgb(1, 0, 0)', 'rgb(2, 0, 0)', 'rgb(3, 0, 0)']) {
      save('style.css', `h1 { color: ${color} }`)
      for (const tab of tabs) {
        await tab.waitForFunction((c) => getComputedStyle(document.querySelector('h1') as Element).color === c, color)
      }
    }
    for (const tab of tabs) {
      await tab.waitForFunction(() => document.querySelectorAll('link[rel=stylesheet]').length === 1)
      t.equal(await tab.evaluate(() => (window as Marked).marker), 2, 'swapped in place, never reloaded')
    }
  })
})
