// The fixture of the live-reload browser tests: a folder served by the command itself
// (`serve-dir --live-reload`), a Chromium, and fresh browser contexts that count the event streams
// their pages open.
import type { Test } from 'tap'
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page, Request } from 'playwright-core'
import { capture } from './helper'
import { start, type Started } from '../lib/command'
import { launch, patient } from './browser'

export const page = (title: string, extra = ''): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${extra}` +
  '<link rel="stylesheet" href="style.css"></head><body><h1>' + title + '</h1></body></html>\n'

export const CSP = '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'

export interface LiveBrowser {
  dir: string
  /** Writes `name` (below the folder) in place. */
  save: (name: string, text: string) => void
  /** A fresh browser (context), the event streams its pages open, and how many were open at once at most. */
  fresh: (how?: { noLocks?: boolean }) => Promise<{ context: BrowserContext, streams: string[], most: () => number }>
  /** Stops the server and starts it again on the same port, as a person restarting it would. */
  restart: () => Promise<void>
  /** `url`'s page in `context`, once its stream is open (by it or by another tab of its browser). */
  opened: (context: BrowserContext, url: string, streams: string[]) => Promise<Page>
}

export async function liveBrowser (t: Test): Promise<LiveBrowser> {
  const dir = t.testdir({
    'index.html': page('v1'),
    'style.css': 'h1 { color: rgb(0, 0, 255) }',
    'csp.html': page('csp1', CSP),
    'frag.html': '<li>a fragment</li>',
    'outer.html': page('outer').replace('</body>', '<iframe src="inner.html"></iframe></body>'),
    'inner.html': page('inner1'),
    sub: { 'a.txt': 'a' }
  })
  async function serve (port: number): Promise<Extract<Started, { server: unknown }>> {
    const stderr = capture()
    const started = await start([String(port), '-d', dir, '--live-reload', '-l', 'silent'], { stdout: capture().stream, stderr: stderr.stream })
    if (!('server' in started)) throw new Error(`did not start: ${stderr.text()}`)
    return started
  }
  let started = await serve(0)
  t.teardown(() => started.server.close())
  const port = (started.server.server.address() as AddressInfo).port
  const base = `http://127.0.0.1:${port}`
  async function restart (): Promise<void> {
    await started.server.close()
    started = await serve(port)
  }
  const browser = await launch(t)
  const save = (name: string, text: string): void => { writeFileSync(path.join(dir, name), text) }

  /** A fresh browser (context), the event streams its pages open, and how many were open at once at most. */
  async function fresh (how: { noLocks?: boolean } = {}): Promise<{ context: BrowserContext, streams: string[], most: () => number }> {
    const context = patient(await browser.newContext())
    // a browser without Web Locks (older Safari, some embedded views)
    if (how.noLocks === true) await context.addInitScript(() => { Reflect.deleteProperty(Navigator.prototype, 'locks') })
    const streams: string[] = []
    let open = 0
    let most = 0
    const isStream = (r: Request): boolean => r.url().endsWith('/.serve-dir/live')
    context.on('request', (r) => {
      if (!isStream(r)) return
      streams.push(r.frame().url())
      most = Math.max(most, ++open)
    })
    const ended = (r: Request): void => { if (isStream(r)) open-- }
    context.on('requestfinished', ended)
    context.on('requestfailed', ended)
    t.teardown(() => context.close())
    return { context, streams, most: () => most }
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
  return { dir, save, fresh, opened, restart }
}
