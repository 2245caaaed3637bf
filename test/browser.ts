// Debian's Chromium driven by playwright-core (no browser download works here), for the browser
// tests: launched once per test file, closed in its teardown, every wait bounded by PATIENCE.
import type { Test } from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { PATIENCE } from './helper'

export const CHROMIUM = '/usr/bin/chromium'
/** A test's `skip` when there is no browser (CI installs it). */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && 'no /usr/bin/chromium (CI installs it)'

export async function launch (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

/** Every wait of Playwright (actions, navigations, waitFor*) bounded by PATIENCE, not its 30 s. */
export function patient<T extends BrowserContext | Page> (x: T): T {
  x.setDefaultTimeout(PATIENCE)
  x.setDefaultNavigationTimeout(PATIENCE)
  return x
}

/**
 * What went wrong on `page` as it was used: console errors and warnings, CSP violations, failed
 * loads (but a text file's /favicon.ico, which no folder has) and uncaught errors.
 */
export async function watch (page: Page): Promise<string[]> {
  const problems: string[] = []
  // failed loads are judged by the response listener below, which knows their URL
  page.on('console', (m) => { if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('Failed to load resource')) problems.push(`console ${m.type()}: ${m.text()}`) })
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`HTTP ${r.status()}: ${r.url()}`) })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))
  })
  return problems
}
