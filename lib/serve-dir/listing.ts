import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'

/** One visible entry of a directory, after the dotfile and symlink policies were applied. */
export interface Entry {
  name: string
  type: 'file' | 'directory'
  /** Bytes for a file; `null` for a directory (its inode size means nothing to a reader). */
  size: number | null
  mtime: Date
}

/** The JSON listing, as documented in the README. */
export interface JsonListing extends Page {
  path: string
  entries: Array<{ name: string, type: Entry['type'], size: number | null, mtime: string, href: string }>
}

/** Compares by Unicode code point, as Python's `str` ordering does (UTF-16 order differs above U+D7FF). */
function compareCodePoints (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // UTF-16 puts surrogates (code points above U+FFFF) before U+E000-U+FFFF: move them after
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

/** Python's listing order (`list.sort(key=lambda a: a.lower())`), with exact names breaking ties so it is total. */
export function sortEntries<T extends { name: string }> (entries: T[]): T[] {
  return sortedOrder(entries.map((e) => e.name)).map((i) => entries[i])
}

/** {@link sortEntries} for bare names (no object per name: folders can hold 100,000). */
export function sortNames (names: string[]): string[] {
  return sortedOrder(names).map((i) => names[i])
}

function sortedOrder (names: readonly string[]): number[] {
  const keys = names.map((n) => n.toLowerCase())
  const order = names.map((_, i) => i)
  return order.sort((i, j) => compareCodePoints(keys[i], keys[j]) || compareCodePoints(names[i], names[j]))
}

/** The link to an entry, relative to its directory's URL: one percent-encoded segment, `/` for folders. */
export function entryHref (entry: Pick<Entry, 'name' | 'type'>): string {
  return encodeURIComponent(entry.name) + (entry.type === 'directory' ? '/' : '')
}

function displayName (entry: Pick<Entry, 'name' | 'type'>): string {
  return entry.name + (entry.type === 'directory' ? '/' : '')
}

/** Where a listing page sits in its folder: `limit: null` means every entry. */
export interface Page {
  total: number
  offset: number
  limit: number | null
  /** Query strings (relative URLs) of the neighbouring pages, or `null`. */
  prev: string | null
  next: string | null
}

/** The whole folder on one page. */
export function wholePage (total: number): Page {
  return { total, offset: 0, limit: null, prev: null, next: null }
}

/** Inline, so the page needs no second request; allowed by its hash in {@link LISTING_CSP}. */
const STYLE = ':root{color-scheme:light dark}body{font-family:system-ui,sans-serif;margin:1em}' +
  'table{border-collapse:collapse}td,th{padding:.15em 1em .15em 0;text-align:left}td.size{text-align:right}'

function renderNav (page: Page, count: number): string {
  const first = page.total === 0 ? 0 : Math.min(page.offset + 1, page.total)
  const last = Math.min(page.offset + count, page.total)
  const prev = page.prev === null ? '' : `<a rel="prev" href="${escapeHtml(page.prev)}">previous</a> `
  const next = page.next === null ? '' : ` <a rel="next" href="${escapeHtml(page.next)}">next</a>`
  return `<nav>${prev}entries ${first}-${last} of ${page.total}${next}</nav>\n`
}

/** A strict policy for the listing page: nothing but its own hashed style; no script, frame, form or base. */
export const LISTING_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The page up to the first entry row. `isTop` leaves out the `../` link. */
export function renderHtmlHead (dirPath: string, isTop: boolean, page?: Page, count = 0): string {
  const title = escapeHtml('Directory listing for ' + dirPath)
  return '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<meta name="color-scheme" content="light dark">\n' +
    `<style>${STYLE}</style>\n<title>${title}</title>\n</head>\n<body>\n<h1>${title}</h1>\n<hr>\n` +
    (page === undefined ? '' : renderNav(page, count)) +
    '<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>\n<tbody>\n' +
    (isTop ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n')
}

/** One table row; every name is HTML-escaped and every href percent-encoded. */
export function renderHtmlRow (entry: Entry): string {
  const size = entry.size === null ? '' : String(entry.size)
  const iso = entry.mtime.toISOString()
  // encodeURIComponent leaves only ' of the HTML specials; the escape is for it
  return `<tr><td><a href="${escapeHtml(entryHref(entry))}">${escapeHtml(displayName(entry))}</a></td>` +
    `<td class="size">${size}</td><td><time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)}</time></td></tr>\n`
}

/** The end of the page, after the last row. */
export function renderHtmlTail (page?: Page, count = 0): string {
  return '</tbody>\n</table>\n' + (page === undefined ? '' : renderNav(page, count)) + '<hr>\n</body>\n</html>\n'
}

/** The whole HTML page for already sorted entries. */
export function renderHtml (dirPath: string, isTop: boolean, entries: readonly Entry[], page?: Page): string {
  let html = renderHtmlHead(dirPath, isTop, page, entries.length)
  for (const e of entries) html += renderHtmlRow(e)
  return html + renderHtmlTail(page, entries.length)
}

/**
 * The JSON listing up to its first entry; entries follow, comma-separated, then {@link jsonTail}.
 * The counts come last, so that a huge folder can be streamed before it has been counted.
 */
export function jsonHead (dirPath: string): string {
  return `{"path":${JSON.stringify(dirPath)},"entries":[`
}

/** The end of the JSON listing: where this page sits in its folder. */
export function jsonTail (page: Page): string {
  return `],"total":${page.total},"offset":${page.offset},"limit":${page.limit},` +
    `"prev":${JSON.stringify(page.prev)},"next":${JSON.stringify(page.next)}}\n`
}

/** One entry of the JSON listing. */
export function jsonEntry (e: Entry): string {
  // by hand, for 100,000 entries: only the name needs JSON escaping (an href is percent-encoded ASCII)
  return `{"name":${JSON.stringify(e.name)},"type":"${e.type}","size":${e.size},"mtime":"${e.mtime.toISOString()}","href":"${entryHref(e)}"}`
}

/** The whole JSON listing for already sorted entries. */
export function renderJson (dirPath: string, entries: readonly Entry[], page: Page = wholePage(entries.length)): string {
  return jsonHead(dirPath) + entries.map(jsonEntry).join(',') + jsonTail(page)
}
