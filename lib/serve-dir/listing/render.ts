import escapeHtml from 'escape-html'
import { ASSETS } from './assets'
import { encodeSegment } from '../url'

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
  return encodeSegment(entry.name) + (entry.type === 'directory' ? '/' : '')
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

export type SortKey = 'name' | 'size' | 'mtime'
export type Order = 'asc' | 'desc'

/** One step of the breadcrumbs: a label and its relative link (`null` for the folder itself). */
export interface Crumb { label: string, href: string }

/** What a listing shows and how, as the request asked. */
export interface View {
  /** The folder's URL path, decoded, for the title. */
  dirPath: string
  isTop: boolean
  crumbs: Crumb[]
  /** Relative URL of the folder the stylesheet and script are served from. */
  assets: string
  sort: SortKey
  order: Order
  /** The filter: names containing it, case-insensitively; `''` for none. */
  q: string
  limit: number | null
  /** Offer the folder as a zip and a tar.gz. */
  downloads?: boolean
  /** Offer a form that adds files to the folder; `hidden`: whether hidden names may be added. */
  uploads?: { hidden: boolean }
  /** Live reload's script, by its name in the assets' folder. */
  live?: string
}

/** The sums a listing shows under its table. */
export interface Tally { folders: number, files: number, bytes: number }

/** Adds one entry to the sums. */
export function count (into: Tally, e: Pick<Entry, 'type' | 'size'>): void {
  if (e.type === 'directory') into.folders++
  else {
    into.files++
    into.bytes += e.size as number
  }
}

export function tally (entries: readonly Entry[], into: Tally = { folders: 0, files: 0, bytes: 0 }): Tally {
  for (const e of entries) count(into, e)
  return into
}

/**
 * The breadcrumbs of a folder: the mount's root, then each folder below it, each linked by a
 * relative URL (so they stay right behind a proxy). The labels spell the folder's path.
 */
export function breadcrumbs (prefixSegments: readonly string[], segments: readonly string[]): Crumb[] {
  const up = (n: number): string => n === 0 ? './' : '../'.repeat(n)
  const rootLabel = prefixSegments.length === 0 ? '/' : '/' + prefixSegments.join('/') + '/'
  return [
    { label: rootLabel, href: up(segments.length) },
    ...segments.map((s, i) => ({ label: s, href: up(segments.length - 1 - i) }))
  ]
}

/** Sizes as people read them: bytes up to 1 KiB, then KiB, MiB, ... (one decimal below 10). */
export function humanSize (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let n = bytes / 1024
  let u = 0
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024
    u++
  }
  return `${n < 10 ? (Math.floor(n * 10) / 10).toFixed(1) : Math.floor(n)} ${units[u]}`
}

const KINDS: Record<string, string> = {}
for (const [kind, exts] of Object.entries({
  img: 'png jpg jpeg gif webp svg avif ico bmp tif tiff heic',
  aud: 'mp3 wav flac ogg oga m4a aac opus',
  vid: 'mp4 webm mkv mov avi m4v ogv',
  zip: 'zip gz tgz tar bz2 xz 7z rar zst br',
  txt: 'txt md markdown rst csv tsv log json yaml yml toml xml ini conf',
  src: 'js mjs cjs ts tsx jsx css html htm py rb go rs java c h cpp hpp sh php swift kt sql',
  doc: 'pdf doc docx odt rtf epub xls xlsx ods ppt pptx odp'
})) for (const ext of exts.split(' ')) KINDS[ext] = kind

/** The icon of an entry: a folder, or a file kind from its extension. */
export function kindOf (entry: Pick<Entry, 'name' | 'type'>): string {
  if (entry.type === 'directory') return 'dir'
  const dot = entry.name.lastIndexOf('.')
  return (dot > 0 ? KINDS[entry.name.slice(dot + 1).toLowerCase()] : undefined) ?? 'file'
}

const ICONS: Record<string, string> = {
  up: 'M8 2 2 8h4v6h4V8h4z',
  dir: 'M1 3h5l1.5 1.5H15V14H1z',
  file: 'M3 1h6l4 4v10H3zm6 0v4h4',
  txt: 'M3 1h6l4 4v10H3zm2 7h6v1H5zm0 2h6v1H5zm0 2h4v1H5z',
  src: 'M3 1h6l4 4v10H3zm3 7L4 10l2 2 .7-.7L5.4 10l1.3-1.3zm4 0-.7.7 1.3 1.3-1.3 1.3.7.7 2-2z',
  img: 'M1 3h14v10H1zm2 8h10l-3-4-2 2.5L6.5 8z',
  aud: 'M6 3l7-2v9.5A2 2 0 1 1 11 9V4L8 5v7.5A2 2 0 1 1 6 11z',
  vid: 'M1 3h10v10H1zm10 3 4-2v8l-4-2z',
  zip: 'M3 1h10v14H3zm4 0v2h2V1zm0 3v2h2V4zm0 3v3h2V7z',
  doc: 'M3 1h6l4 4v10H3zm2 6h6v1H5zm0 2h6v1H5z'
}

/** Inline SVG symbols, used by reference from each row: no image requests, nothing for a policy to block. */
const SPRITE = '<svg class="sprite" aria-hidden="true">' +
  Object.entries(ICONS)
    .map(([id, d]) => `<symbol id="i-${id}" viewBox="0 0 16 16"><path d="${d}"/></symbol>`)
    .join('') + '</svg>\n'

function icon (kind: string): string {
  return `<svg class="i" aria-hidden="true"><use href="#i-${kind}"></use></svg>`
}

/**
 * `?a=b&c=d` for the non-default parts of a view; `'?'` when all are defaults. For the links
 * between pages, `page` adds a format (first) and an offset (before the limit).
 */
export function viewQuery (
  v: Pick<View, 'sort' | 'order' | 'q' | 'limit'>,
  page: { format?: string, offset?: number } = {}
): string {
  const p = new URLSearchParams()
  if (page.format !== undefined) p.set('format', page.format)
  if (v.sort !== 'name' || v.order !== 'asc') {
    p.set('sort', v.sort)
    p.set('order', v.order)
  }
  if (v.q !== '') p.set('q', v.q)
  if (page.offset !== undefined) p.set('offset', String(page.offset))
  if (v.limit !== null) p.set('limit', String(v.limit))
  const s = p.toString()
  return s === '' ? '?' : '?' + s
}

function header (view: View, key: SortKey, label: string, cls: string): string {
  const current = view.sort === key
  const order: Order = current && view.order === 'asc' ? 'desc' : 'asc'
  const href = viewQuery({ ...view, sort: key, order })
  const aria = current ? (view.order === 'asc' ? 'ascending' : 'descending') : 'none'
  return `<th scope="col"${cls} aria-sort="${aria}">${queryButton(href, label)}</th>`
}

/**
 * A button that asks for this folder with `query` (a GET form, as a link would, but no link):
 * mirroring clients (`wget -r`, `lftp mirror`) follow every link, and would fetch each sorted
 * copy of each listing and each folder's archives; they submit no forms.
 */
function queryButton (query: string, label: string): string {
  const inputs = [...new URLSearchParams(query.slice(1))]
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('')
  return `<form class="q">${inputs}<button>${label}</button></form>`
}

/**
 * A strict policy for the listing page: its own stylesheet and script, nothing inline, no frames or
 * base; its script may talk to this server only (the uploads' PUTs).
 */
export const LISTING_CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/**
 * The form that adds files to the folder (the upload route's `POST /dir/`, 303 back here), without
 * a script; the script (assets/listing.js) sends each file with its own PUT instead, with a
 * progress bar, and adds folders and drag-and-drop.
 */
function uploadForm (hidden: boolean): string {
  return `<form class="upload" method="post" enctype="multipart/form-data" action="./" data-hidden="${hidden ? 'allow' : 'ignore'}">` +
    '<label for="up">Add files</label><input id="up" name="file" type="file" multiple required>' +
    '<button type="submit">Upload</button><progress hidden max="1" value="0"></progress>' +
    '<output for="up" aria-live="polite"></output></form>\n'
}

function renderNav (page: Page, count: number): string {
  const first = page.total === 0 ? 0 : Math.min(page.offset + 1, page.total)
  const last = Math.min(page.offset + count, page.total)
  const prev = page.prev === null ? '' : `<a rel="prev" href="${escapeHtml(page.prev)}">previous</a> `
  const next = page.next === null ? '' : ` <a rel="next" href="${escapeHtml(page.next)}">next</a>`
  return `<nav class="pages" aria-label="Pages">${prev}entries ${first}-${last} of ${page.total}${next}</nav>\n`
}

/** The page up to the first entry row. */
export function renderHtmlHead (view: View, page?: Page, count = 0): string {
  const title = escapeHtml('Directory listing for ' + view.dirPath)
  const last = view.crumbs.length - 1
  const crumbs = view.crumbs.map((c, i) => {
    const link = `<a href="${escapeHtml(c.href)}"${i === last ? ' aria-current="page"' : ''}>${escapeHtml(c.label)}</a>`
    return i === 0 ? link : link + '/'
  }).join('')
  const keep = (view.sort !== 'name' || view.order !== 'asc')
    ? `<input type="hidden" name="sort" value="${view.sort}"><input type="hidden" name="order" value="${view.order}">`
    : ''
  return '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<meta name="color-scheme" content="light dark">\n' +
    `<title>${title}</title>\n` +
    // no favicon request (a folder rarely has one; the 404 would be noise in every log)
    '<link rel="icon" href="data:,">\n' +
    `<link rel="stylesheet" href="${escapeHtml(view.assets + ASSETS.css.name)}">\n` +
    `<script src="${escapeHtml(view.assets + ASSETS.js.name)}" defer></script>\n` +
    (view.live === undefined ? '' : `<script src="${escapeHtml(view.assets + view.live)}" defer></script>\n`) +
    '</head>\n<body>\n' + SPRITE +
    `<header>\n<h1>Directory listing for <span class="crumbs">${crumbs}</span></h1>\n` +
    '<form class="filter" role="search" method="get">' +
    `<label for="q">Filter</label><input id="q" name="q" type="search" value="${escapeHtml(view.q)}" ` +
    'placeholder="names containing..." autocomplete="off" spellcheck="false">' + keep +
    (view.limit === null ? '' : `<input type="hidden" name="limit" value="${view.limit}">`) +
    '<button type="submit">Filter</button></form>\n' +
    (view.uploads === undefined ? '' : uploadForm(view.uploads.hidden)) + '</header>\n<main>\n' +
    (page === undefined ? '' : renderNav(page, count)) +
    '<table>\n<thead><tr>' +
    header(view, 'name', 'Name', '') + header(view, 'size', 'Size', ' class="size"') +
    header(view, 'mtime', 'Modified', '') +
    '</tr></thead>\n<tbody>\n' +
    (view.isTop
      ? ''
      : `<tr class="up"><td><a href="../">${icon('up')}../</a></td><td class="size"></td><td></td></tr>\n`)
}

/** One table row; every name is HTML-escaped and every href percent-encoded. */
export function renderHtmlRow (entry: Entry): string {
  const iso = entry.mtime.toISOString()
  const size = entry.size === null
    ? '<td class="size"></td>'
    : `<td class="size" title="${entry.size} bytes">${humanSize(entry.size)}</td>`
  const name = escapeHtml(entry.name)
  // an href holds none of the HTML specials; escaped all the same, as every attribute is
  return `<tr${entry.type === 'directory' ? ' class="d"' : ''} data-name="${name}"><td><a href="${escapeHtml(entryHref(entry))}">` +
    `${icon(kindOf(entry))}${escapeHtml(displayName(entry))}</a></td>` +
    `${size}<td><time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)}</time></td></tr>\n`
}

function plural (n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

/** The end of the page, after the last row: the counts, and the page links. */
export function renderHtmlTail (view: View, t: Tally, total: number, page?: Page, count = 0): string {
  const shown = t.folders + t.files
  const of = view.q !== '' || page !== undefined ? ` (${shown} of ${plural(total, 'entry', 'entries')})` : ''
  return '</tbody>\n</table>\n' + (page === undefined ? '' : renderNav(page, count)) +
    `<footer><p class="counts">${plural(t.folders, 'folder', 'folders')}, ${plural(t.files, 'file', 'files')}, ` +
    `${humanSize(t.bytes)}${of} <span id="shown" aria-live="polite"></span></p>` +
    (view.downloads === true ? `<p class="download">Download this folder: ${queryButton('?download=zip', 'zip')} ${queryButton('?download=tar.gz', 'tar.gz')}</p>` : '') +
    '</footer>\n</main>\n</body>\n</html>\n'
}

/** The whole HTML page for already sorted entries. */
export function renderHtml (view: View, entries: readonly Entry[], total = entries.length, page?: Page): string {
  let html = renderHtmlHead(view, page, entries.length)
  for (const e of entries) html += renderHtmlRow(e)
  return html + renderHtmlTail(view, tally(entries), total, page, entries.length)
}

/**
 * The JSON listing up to its first entry; entries follow, comma-separated, then {@link jsonTail}.
 * The counts come last, so that a huge folder can be streamed before it has been counted.
 */
export function jsonHead (dirPath: string): string {
  return `{"path":${JSON.stringify(dirPath)},"entries":[`
}

/** The end of the JSON listing: where this page sits in its folder, and the view asked for. */
export function jsonTail (page: Page, view?: Pick<View, 'sort' | 'order' | 'q'>): string {
  return `],"total":${page.total},"offset":${page.offset},"limit":${page.limit},` +
    `"prev":${JSON.stringify(page.prev)},"next":${JSON.stringify(page.next)},` +
    `"sort":"${view?.sort ?? 'name'}","order":"${view?.order ?? 'asc'}","q":${JSON.stringify(view?.q === undefined || view.q === '' ? null : view.q)}}\n`
}

/** One entry of the JSON listing. */
export function jsonEntry (e: Entry): string {
  // by hand, for 100,000 entries: only the name needs JSON escaping (an href is percent-encoded ASCII)
  return `{"name":${JSON.stringify(e.name)},"type":"${e.type}","size":${e.size},"mtime":"${e.mtime.toISOString()}","href":"${entryHref(e)}"}`
}

/** The whole JSON listing for already sorted entries. */
export function renderJson (
  dirPath: string,
  entries: readonly Entry[],
  page: Page = wholePage(entries.length),
  view?: Pick<View, 'sort' | 'order' | 'q'>
): string {
  return jsonHead(dirPath) + entries.map(jsonEntry).join(',') + jsonTail(page, view)
}

// control characters (C0, DEL, C1), bidirectional overrides and the backslash that starts an escape
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g

/**
 * One line of the plain-text listing: the name, with `/` for a folder (so `curl` is pleasant).
 * A control character is written as `\xNN` (a bidi override as `\uNNNN`, a backslash as `\\`):
 * every line is one name, and no name can drive the terminal it is printed on.
 */
export function textEntry (e: Entry): string {
  return displayName(e).replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0)
    return c === '\\' ? '\\\\' : code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`
  }) + '\n'
}

/**
 * The order a view asks for: Python's by name, or by size or time with names breaking ties; folders
 * first on request.
 */
export function sortView (entries: Entry[], sort: SortKey, order: Order, dirsFirst: boolean): Entry[] {
  let sorted = sortEntries(entries)
  if (sort !== 'name') {
    const key = (e: Entry): number => sort === 'size' ? (e.size ?? -1) : e.mtime.getTime()
    // a stable sort of a new array in name order: equal keys stay by name
    sorted.sort((a, b) => key(a) - key(b))
  }
  if (order === 'desc') sorted.reverse()
  if (dirsFirst) sorted = [...sorted.filter((e) => e.type === 'directory'), ...sorted.filter((e) => e.type !== 'directory')]
  return sorted
}

/** Names containing `q`, case-insensitively, NFC and NFD alike. */
export function matches (q: string): (name: string) => boolean {
  const needle = q.normalize('NFC').toLowerCase()
  return (name) => name.normalize('NFC').toLowerCase().includes(needle)
}

/** The formats a listing comes in. */
export type Format = 'html' | 'json' | 'text'

/**
 * One format's listing in three parts, so that a listing of any size can be streamed: the head
 * (before the first row), a row per entry, and the tail (totals, pages). `count` is the number of
 * rows in the page; `page` is `undefined` for a whole folder listed without `?limit`.
 */
export interface Renderer {
  head: (view: View, page: Page | undefined, count?: number) => string
  row: (entry: Entry, first: boolean) => string
  tail: (view: View, page: Page, totals: Tally, total: number, count: number) => string
}

/** Each format's renderer. */
export const RENDERERS: Record<Format, Renderer> = {
  html: {
    head: (view, page, count) => renderHtmlHead(view, page?.limit === null ? undefined : page, count),
    row: (entry) => renderHtmlRow(entry),
    tail: (view, page, totals, total, count) =>
      renderHtmlTail(view, totals, total, page.limit === null ? undefined : page, count)
  },
  json: {
    head: (view) => jsonHead(view.dirPath),
    row: (entry, first) => (first ? '' : ',') + jsonEntry(entry),
    tail: (view, page) => jsonTail(page, view)
  },
  // a name per line, as `ls -1p` prints them: nothing before or after
  text: {
    head: () => '',
    row: (entry) => textEntry(entry),
    tail: () => ''
  }
}
