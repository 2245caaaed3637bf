// Uploads in a real browser (Debian's Chromium): the listing's form with and without its script,
// a folder picked with its tree, files dropped on the page, a phone-sized screen, and an uploaded
// page that tries to write with the visitor's rights.
import t from 'tap'
import path from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { build, capture } from '../helper'
import { start } from '../../lib/command'
import { NO_CHROMIUM, launch, patient, watch } from '../browser'

const names = async (page: Page): Promise<string[]> =>
  await page.$$eval('tbody tr:not(.up)', (rows) => rows.map((r) => r.getAttribute('data-name') as string))

t.test('uploads in Chromium', { skip: NO_CHROMIUM }, async (t) => {
  // one t.testdir per test: what is served, and what the browser picks files from
  const top = t.testdir({ www: { inbox: {}, 'readonly.txt': 'r' }, local: { tree: { 'top.txt': 'top', sub: { 'deep.txt': 'deep', '.DS_Store': 'mac' } } } })
  const root = path.join(top, 'www')
  const local = path.join(top, 'local')
  const app = await build(t, ['--root', root, '--upload', '/inbox'])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launch(t)

  await t.test('the form, with the script: each file a PUT, then the listing shows them', async (t) => {
    const page = patient(await browser.newPage())
    const problems = await watch(page)
    await page.goto(base + '/')
    t.equal(await page.locator('form.upload').count(), 0, 'no form outside the upload paths')
    await page.goto(base + '/inbox/')
    const puts: string[] = []
    page.on('request', (r) => { if (r.method() === 'PUT') puts.push(decodeURIComponent(new URL(r.url()).pathname)) })
    await page.setInputFiles('#up', [
      { name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('one') },
      { name: 'two & <b>.txt', mimeType: 'text/plain', buffer: Buffer.alloc(300_000, 2) }
    ])
    await Promise.all([page.waitForEvent('load'), page.click('form.upload button')])
    t.same((await names(page)).sort(), ['one.txt', 'two & <b>.txt'])
    t.same(puts.sort(), ['/inbox/one.txt', '/inbox/two & <b>.txt'])
    t.equal(readFileSync(path.join(root, 'inbox', 'two & <b>.txt')).length, 300_000)

    // a name that exists: said on the page, no reload
    await page.setInputFiles('#up', [{ name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('again') }])
    await page.click('form.upload button')
    await page.waitForFunction(() => /0 of 1 added/.test(document.querySelector('form.upload output')?.textContent ?? ''))
    t.match(await page.textContent('form.upload output'), 'one.txt: Upload conflict: the file exists')
    t.equal(readFileSync(path.join(root, 'inbox', 'one.txt'), 'utf8'), 'one', 'not replaced')
    t.same(problems.filter((p) => !p.includes('409')), [], 'no errors, no CSP violation')
    await page.close()
  })

  await t.test('a folder, picked: its tree kept, its hidden files left out', async (t) => {
    const page = patient(await browser.newPage())
    await page.goto(base + '/inbox/')
    await Promise.all([page.waitForEvent('load'), page.setInputFiles('#updir', path.join(local, 'tree'))])
    t.equal(readFileSync(path.join(root, 'inbox', 'tree', 'sub', 'deep.txt'), 'utf8'), 'deep')
    t.equal(readFileSync(path.join(root, 'inbox', 'tree', 'top.txt'), 'utf8'), 'top')
    t.notOk(existsSync(path.join(root, 'inbox', 'tree', 'sub', '.DS_Store')))
    t.ok((await names(page)).includes('tree'))
    await page.close()
  })

  await t.test('files dropped on the page', async (t) => {
    const page = patient(await browser.newPage())
    await page.goto(base + '/inbox/')
    const drop = await page.evaluateHandle(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }))
      return dt
    })
    await page.dispatchEvent('body', 'dragover', { dataTransfer: drop })
    t.ok(await page.evaluate(() => document.documentElement.classList.contains('dropping')), 'the page is outlined')
    await Promise.all([page.waitForEvent('load'), page.dispatchEvent('body', 'drop', { dataTransfer: drop })])
    t.equal(readFileSync(path.join(root, 'inbox', 'dropped.txt'), 'utf8'), 'dropped')
    await page.close()
  })

  await t.test('without the script the form posts the files: 303 back to the listing', async (t) => {
    const context = patient(await browser.newContext({ javaScriptEnabled: false }))
    const page = await context.newPage()
    await page.goto(base + '/inbox/')
    t.equal(await page.locator('#updir').count(), 0, 'no folder picker without the script')
    await page.setInputFiles('#up', [{ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('a') }, { name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('b') }])
    const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form.upload button')])
    t.equal(res.status(), 303, await res.text().catch(() => ''))
    await page.waitForURL(base + '/inbox/')
    t.ok((await names(page)).includes('b.txt'))
    t.equal(readFileSync(path.join(root, 'inbox', 'a.txt'), 'utf8'), 'a')
    await context.close()
  })

  await t.test('on a phone-sized screen: the form fits and works', async (t) => {
    const context = patient(await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 }))
    const page = await context.newPage()
    await page.goto(base + '/inbox/')
    const box = await page.locator('form.upload').boundingBox()
    t.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `the form within the screen: ${JSON.stringify(box)}`)
    t.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 390), true, 'no sideways scrolling')
    await page.setInputFiles('#up', [{ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(2_000_000, 9) }])
    await Promise.all([page.waitForEvent('load'), page.tap('form.upload button')])
    t.ok((await names(page)).includes('photo.jpg'))
    await context.close()
  })

  await t.test('an uploaded page runs sandboxed: its script cannot write with the visitor\'s rights', async (t) => {
    const evil = '<!doctype html><title>waiting</title><script>' +
      "fetch('/inbox/pwned.txt', { method: 'PUT', body: 'pwned' }).then((r) => { document.title = 'status ' + r.status }, () => { document.title = 'refused' })" +
      '</script>'
    t.equal((await app.inject({ method: 'PUT', url: '/inbox/evil.html', payload: evil })).statusCode, 201)
    const page = patient(await browser.newPage())
    await page.goto(base + '/inbox/evil.html')
    await page.waitForFunction(() => document.title !== 'waiting')
    t.match(await page.title(), /^(status 403|refused)$/, `the script ran and was refused: ${await page.title()}`)
    t.notOk(existsSync(path.join(root, 'inbox', 'pwned.txt')))
    await page.close()
  })
})

t.test('a phone opens the printed login link, logs in with --token, adds a photo with the form and sees it', { skip: NO_CHROMIUM }, async (t) => {
  const dir = t.testdir({ 'index.txt': 'shared' })
  const stderr = capture()
  const started = await start(['0', '-d', dir, '--upload', '--token', '-l', 'silent'], { stdout: capture().stream, stderr: stderr.stream })
  if (!('server' in started)) throw new Error(`did not start: ${stderr.text()}`)
  t.teardown(() => started.server.close())
  const link = (/^Login link \(it holds the password, share it with care\): (\S+)$/m.exec(stderr.text()) as RegExpExecArray)[1]
  const browser = await launch(t)
  const context = patient(await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }))
  const page = await context.newPage()
  const problems = await watch(page)
  const clean = link.slice(0, link.indexOf('?'))
  await Promise.all([page.waitForURL(clean), page.goto(link)])
  await page.waitForSelector('form.upload')
  t.equal(page.url(), clean, 'the token has left the address bar')
  t.equal(await page.title(), 'Directory listing for /')
  const cookies = await context.cookies()
  t.match(cookies, [{ name: /^serve-dir-login-[0-9a-f]{8}$/, httpOnly: true, sameSite: 'Strict' }])
  await page.setInputFiles('#up', [{ name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(1_500_000, 3) }])
  await Promise.all([page.waitForEvent('load'), page.tap('form.upload button')])
  t.ok((await names(page)).includes('IMG_0001.jpg'), 'in the listing')
  t.equal(readFileSync(path.join(dir, 'IMG_0001.jpg')).length, 1_500_000)
  t.same(problems, [], 'no errors, no CSP violation, no failed load')
  const stranger = await (await browser.newContext()).newPage()
  t.equal((await stranger.goto(clean))?.status(), 401, 'a browser without the link gets nothing')
})
