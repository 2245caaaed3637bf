// Live reload in a real browser (Debian's Chromium), served by the command itself: a save
// reloads the page (timed), a stylesheet is swapped without one, an atomic save is one reload, and
// a page's own CSP allows the script. More in browser-live-tabs.test.ts (split to stay well
// inside the 30 s a test file may take).
import t from 'tap'
import path from 'node:path'
import { renameSync, writeFileSync } from 'node:fs'
import { NO_CHROMIUM, watch } from '../browser'
import { CSP, liveBrowser, page } from '../browser-live'
import { PATIENCE } from '../helper'

t.test('live reload in Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const { dir, save, fresh, opened } = await liveBrowser(t)
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
    // how soon is a benchmark's figure (the comment above); a busy machine stretches it
    t.ok(times.every((ms) => ms > 0 && ms < PATIENCE), 'each save reloaded the page, after it')
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

  await t.test("a page whose own CSP is default-src 'self' runs the script and reloads", async (t) => {
    const { context, streams } = await fresh()
    const p = await opened(context, '/csp.html', streams)
    const problems = await watch(p)
    save('csp.html', page('csp2', CSP))
    await p.waitForFunction(() => document.querySelector('h1')?.textContent === 'csp2')
    t.same(problems, [], 'no CSP violation')
  })
})
