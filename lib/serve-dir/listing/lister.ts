// Folder listings: read, filter and sort the names, stat the entries shown, render HTML, JSON or
// text. Small folders are rendered whole (with an ETag) and their entries kept while an inotify
// watch says nothing in them changed; big folders are streamed, so memory stays bounded and the
// first byte leaves early.
import path from 'node:path'
import { createHash } from 'node:crypto'
import { lstatSync, watch, type FSWatcher, type Stats } from 'node:fs'
import { LRUCache } from 'lru-cache'
import { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { lookup, type SymlinkPolicy } from '../fs/lookup'
import type { Identity } from '../fs/verified-open'
import { openFolder, readNames, type Folder } from './folder'
import { Slots } from '../slots'
import {
  RENDERERS, matches, sortView, tally, count, viewQuery, wholePage,
  type Entry, type Format, type Page, type Tally, type View
} from './render'

/** Entries stat'ed between two turns of the event loop while listing, so other requests interleave. */
const STAT_BATCH = 512
/** Bytes of rendered rows sent as one chunk of a streamed listing. */
const CHUNK = 64 * 1024
/** Pages with more entries than this are streamed, never rendered whole. */
export const STREAM_ABOVE = 5000
/** A folder whose own size (its entries' space on disk) passes this holds thousands of names: stream it head first. */
export const BIG_FOLDER_BYTES = 256 * 1024
/** How many folders' entries are kept (each holds one inotify watch). */
const CACHED_FOLDERS = 64
/** Rendered variants (format, sort, filter) kept per folder. */
const VARIANTS_PER_FOLDER = 16
/**
 * Big listings made at once (each holds up to tens of MiB while it is read, sorted and sent), and
 * how many may wait for a turn.
 */
const BIG_LISTINGS = 4
const BIG_LISTINGS_WAITING = 32
/**
 * How often a kept listing's entries are all stat'ed again, for the changes its watch cannot see.
 * On every hit it cost a stat per entry: a folder of 1,000 went from 7,000 to 170 listings a second.
 */
const RECHECK_MS = 1000
/** A signal that never aborts: for callers with no client to lose. */
const NEVER = new AbortController().signal

export interface ListRequest extends View {
  /** Real path of the folder. */
  dir: string
  format: Format
  offset: number
  /** Folders before files, whatever the sort. */
  dirsFirst: boolean
}

/** A listing ready to send: a whole body with its strong ETag, or a stream without one. */
export type Listing = Rendered | { stream: Readable }

/** A whole listing body, its strong ETag, and its content-coded forms once made. */
export interface Rendered { body: Buffer, etag: string, coded: Map<string, Promise<Buffer>> }

interface Kept {
  /** The folder's own version when read: entries added, removed or renamed change it. */
  version: string
  /** Cleared by the watcher on any change inside the folder. */
  valid: boolean
  watcher: FSWatcher
  /** When every entry was last stat'ed again (see {@link RECHECK_MS}). */
  checkedAt: number
  /**
   * Every visible entry, in name order. Sub-folders are stat'ed again on every hit (the watch cannot
   * see a change inside one), and every entry at most every RECHECK_MS (nor a hard link added
   * since it was kept, or a bind mount: a folder holding a file with two links is never kept).
   */
  entries: Entry[]
  /** Rendered variants (format, sort, filter, page), the most recently used kept. */
  bodies: LRUCache<string, Rendered>
}

function versionOf (s: Stats): string {
  return `${s.ino}:${s.mtimeMs}:${s.ctimeMs}`
}

const NO_THROW = { throwIfNoEntry: false } as const

/**
 * A big folder's entries, one column each: `kind` 0 for a name that cannot be listed, `size` -1 for
 * a folder, `mtime` in ms.
 */
interface Table { names: readonly string[], kind: Uint8Array, size: Float64Array, mtime: Float64Array }
const FILE = 1
const FOLDER = 2

/**
 * A big listing's turn, if it holds one: given back when the listing has been made, or for a stream
 * when the stream closes.
 */
interface Turn { release: (() => void) | undefined }

/**
 * A byte stream of rendered text that holds at most one chunk ahead of the client (an object-mode
 * stream would buffer 16).
 */
function streamed (text: AsyncGenerator<string>): Readable {
  return Readable.from(text, { objectMode: false, highWaterMark: CHUNK })
}

function unwatch (kept: Kept | undefined): void {
  if (kept === undefined) return
  kept.valid = false
  kept.watcher.close()
}

/** Whether the order asked for needs every entry's stat (sizes, times, kinds) before any is shown. */
function needsStats (req: ListRequest): boolean {
  return req.sort !== 'name' || req.dirsFirst
}

export class Lister {
  /** Folders' entries, the most recently used kept; one that goes (replaced, evicted, invalid) stops watching. */
  private readonly kept = new LRUCache<string, Kept>({ max: CACHED_FOLDERS, dispose: (k) => { k.watcher.close() } })
  /** inotify makes the cache safe on Linux only; elsewhere every listing is read afresh. */
  private readonly canWatch: boolean
  /** Whether an opened folder must be at exactly its real path (every policy but `follow`). */
  private readonly verifyPath: boolean
  /** Turns for big listings: the work that one client could otherwise make the server do hundreds of times over. */
  private readonly slots = new Slots('big listings', BIG_LISTINGS, BIG_LISTINGS_WAITING)
  /**
   * Folders being read and sorted now, by path and version: requests for the same one share the
   * work (and the memory).
   */
  private readonly reading = new Map<string, Promise<readonly string[] | null>>()

  constructor (
    private readonly realRoot: string,
    private readonly policy: SymlinkPolicy,
    private readonly showHidden: boolean,
    canWatch = process.platform === 'linux',
    /** How often every kept entry is stat'ed again ({@link RECHECK_MS}). */
    private readonly recheckMs = RECHECK_MS
  ) {
    this.canWatch = canWatch
    this.verifyPath = policy !== 'follow'
  }

  /**
   * {@link readNames} of the opened folder `base` (the folder at `dir`, as `dirStat` saw it), shared
   * with every request for that folder in that version while it is being read: a hundred requests
   * for a folder of 100,000 names read and sort it once. Never to be changed: it is shared.
   */
  private async shared (dir: string, dirStat: Stats, base: string): Promise<readonly string[] | null> {
    const key = dir + '\0' + versionOf(dirStat)
    let names = this.reading.get(key)
    if (names === undefined) {
      names = readNames(base, this.showHidden)
      this.reading.set(key, names)
      names.finally(() => this.reading.delete(key)).catch(() => {})
    }
    return await names
  }

  /**
   * The entry for one name, or `null` if it is not servable (special file, dangling or refused
   * link, gone). `links.found` is set when a symbolic link was met: what it leads to can change
   * unseen, so the listing is not kept.
   * Walker.resolve (archive/walk.ts) applies the same policies for archives; this one makes no object but the
   * entry, as it runs 100,000 times for a big listing (going through resolve cost 6 MiB of peak RSS).
   */
  private entryOf (dir: string, name: string, links: { found: boolean }): Entry | null {
    const s = this.statOf(dir, name, links)
    if (s === undefined) return null
    if (s.isDirectory()) return { name, type: 'directory', size: null, mtime: s.mtime }
    // a file with another hard link can change through it, with no event in this folder
    if (s.nlink > 1) links.found = true
    return { name, type: 'file', size: s.size, mtime: s.mtime }
  }

  /** {@link entryOf}'s stat: of a regular file or a folder, else `undefined`. */
  private statOf (dir: string, name: string, links: { found: boolean }): Stats | undefined {
    let s: Stats | undefined
    try {
      s = lstatSync(dir + path.sep + name, NO_THROW)
      if (s?.isSymbolicLink() === true) {
        links.found = true
        s = this.policy === 'deny' ? undefined : lookup(this.realRoot, dir, [name], this.policy, !this.showHidden)?.stat
      }
    /* c8 ignore next 3 */ // unreadable (EACCES), which root never is: not listed
    } catch {
      s = undefined
    }
    // FIFOs, sockets and devices are never served, so not listed
    return s !== undefined && (s.isFile() || s.isDirectory()) ? s : undefined
  }

  /**
   * Every name of a big folder stat'ed into columns, in batches: a few bytes an entry, where an
   * Entry object costs about a hundred (its Date alone forty). Twenty clients sorting a folder of
   * 100,000 by size held 810 MiB as objects.
   */
  private async table (dir: string, names: readonly string[], signal: AbortSignal): Promise<Table> {
    const n = names.length
    const t: Table = { names, kind: new Uint8Array(n), size: new Float64Array(n), mtime: new Float64Array(n) }
    const links = { found: false }
    for (let i = 0; i < n; i++) {
      if (i > 0 && i % STAT_BATCH === 0) {
        await nextTurn()
        signal.throwIfAborted()
      }
      const s = this.statOf(dir, names[i], links)
      if (s === undefined) continue
      t.kind[i] = s.isDirectory() ? FOLDER : FILE
      t.size[i] = s.isDirectory() ? -1 : s.size
      t.mtime[i] = s.mtime.getTime()
    }
    return t
  }

  /** {@link view} of a big folder's table: the same order, pages and counts, one Entry made per row as it is sent. */
  private tableView (req: ListRequest, t: Table): Listing {
    const match = req.q === '' ? undefined : matches(req.q)
    let order: number[] = []
    let listable = 0
    for (let i = 0; i < t.names.length; i++) {
      if (t.kind[i] === 0) continue
      listable++
      if (match === undefined || match(t.names[i])) order.push(i)
    }
    // the names are in name order: a stable sort by another key keeps equal keys by name, as sortView does
    if (req.sort !== 'name') {
      const key = req.sort === 'size' ? t.size : t.mtime
      order.sort((a, b) => key[a] - key[b])
    }
    if (req.order === 'desc') order.reverse()
    if (req.dirsFirst) order = [...order.filter((i) => t.kind[i] === FOLDER), ...order.filter((i) => t.kind[i] !== FOLDER)]
    const shown = this.slice(req, order)
    const page = this.pageOf(req, order.length)
    const entry = (i: number): Entry => ({
      name: t.names[i],
      type: t.kind[i] === FOLDER ? 'directory' : 'file',
      size: t.kind[i] === FOLDER ? null : t.size[i],
      mtime: new Date(t.mtime[i])
    })
    if (shown.length <= STREAM_ABOVE) return this.renderWhole(req, page, shown.map(entry), listable)
    const totals: Tally = { folders: 0, files: 0, bytes: 0 }
    for (const i of shown) count(totals, { type: t.kind[i] === FOLDER ? 'directory' : 'file', size: t.size[i] })
    return { stream: streamed(this.renderRows(req, page, shown, entry, totals, listable)) }
  }

  /** Entries for `names`, stat'ed in batches with a turn of the event loop in between. */
  private async entries (
    dir: string,
    names: readonly string[],
    links: { found: boolean },
    signal: AbortSignal
  ): Promise<Entry[]> {
    return (await this.fill(dir, names, 0, names.length, links, signal)).entries
  }

  /**
   * Up to `limit` entries from `names[offset]` on, going past names that cannot be listed (special
   * files, refused links) so that a page is full; `end` is the index after the last name used.
   * Backwards (`step` -1), from `names[offset - 1]` down: `end` is then where that page starts.
   */
  private async fill (
    dir: string,
    names: readonly string[],
    offset: number,
    limit: number,
    links: { found: boolean },
    signal: AbortSignal,
    step: 1 | -1 = 1
  ): Promise<{ entries: Entry[], end: number }> {
    const entries: Entry[] = []
    let i = step === 1 ? offset : offset - 1
    for (let n = 0; i >= 0 && i < names.length && entries.length < limit; i += step, n++) {
      if (n > 0 && n % STAT_BATCH === 0) {
        await nextTurn()
        // the client gone, the work stops
        signal.throwIfAborted()
      }
      const e = this.entryOf(dir, names[i], links)
      if (e !== null) entries.push(e)
    }
    return { entries, end: step === 1 ? i : i + 1 }
  }

  /**
   * The page `req` asks for among `total`; the next one starts at `next` and the previous one at
   * `prev` (by default right after this one, and `limit` before it).
   */
  private pageOf (req: ListRequest, total: number, { next, prev }: { next?: number, prev?: number } = {}): Page {
    if (req.limit === null) return wholePage(total)
    const link = (offset: number): string =>
      viewQuery(req, { format: req.format === 'html' ? undefined : req.format, offset })
    const nextAt = next ?? req.offset + req.limit
    return {
      total,
      offset: req.offset,
      limit: req.limit,
      prev: req.offset > 0 ? link(prev ?? Math.max(0, req.offset - req.limit)) : null,
      next: nextAt < total ? link(nextAt) : null
    }
  }

  private slice<T> (req: ListRequest, all: readonly T[]): T[] {
    const end = req.limit === null ? all.length : Math.min(all.length, req.offset + req.limit)
    return all.slice(Math.min(req.offset, all.length), end)
  }

  /**
   * Lists a folder as `req` asks; `null` when it is gone. `signal` aborts when the client goes away:
   * the work stops (a streamed listing stops when its stream is destroyed). A big folder's listing
   * waits for one of a few turns (or is refused, 503) and holds it until it has been sent.
   */
  async list (req: ListRequest, dirStat: Stats, signal: AbortSignal = NEVER): Promise<Listing | null> {
    const kept = await this.keptEntries(req.dir, dirStat)
    if (kept !== undefined) return this.fromKept(req, kept)
    // a folder this big takes a turn before it is read: its names alone are megabytes
    const turn: Turn = { release: dirStat.size > BIG_FOLDER_BYTES ? await this.slots.take(signal) : undefined }
    try {
      const listing = await this.uncached(req, dirStat, signal, turn)
      if (listing !== null && 'stream' in listing && turn.release !== undefined) {
        listing.stream.once('close', turn.release)
        turn.release = undefined
      }
      return listing
    } finally {
      turn.release?.()
    }
  }

  /** {@link list} of a folder with nothing kept. */
  private async uncached (req: ListRequest, dirStat: Stats, signal: AbortSignal, turn: Turn): Promise<Listing | null> {
    const plain = !needsStats(req) && req.q === '' && req.order === 'asc'
    if (plain && req.limit === null && dirStat.size > BIG_FOLDER_BYTES) {
      return { stream: streamed(this.render(req, undefined, dirStat)) }
    }

    // watch before reading, so that a change while we read is not missed
    const watched = this.watch(req.dir, dirStat)
    const folder = openFolder(req.dir, dirStat, this.verifyPath)
    try {
      return await this.read(req, dirStat, folder, watched, signal, turn)
    } finally {
      folder?.close()
    }
  }

  /** {@link list} once the folder is open (`null`: gone) and watched. */
  private async read (
    req: ListRequest,
    dirStat: Stats,
    folder: Folder | null,
    watched: Kept | undefined,
    signal: AbortSignal,
    turn: Turn
  ): Promise<Listing | null> {
    const names = folder === null ? null : await this.shared(req.dir, dirStat, folder.base)
    if (names === null || names.length > STREAM_ABOVE) unwatch(watched) // gone, or too big to keep
    if (folder === null || names === null) return null
    signal.throwIfAborted()
    // a folder whose own size did not tell (some file systems count entries, not bytes) takes its turn now
    if (names.length > STREAM_ABOVE && turn.release === undefined) turn.release = await this.slots.take(signal)
    const { base } = folder
    const links = { found: false }

    if (needsStats(req) || watched?.valid === true) {
      // every entry is needed (to order them, or to keep them): stat them all, keep what can be kept
      if (names.length > STREAM_ABOVE) return this.tableView(req, await this.table(base, names, signal))
      const all = await this.entries(base, names, links, signal)
      // a link's target can change without any event in this folder
      if (links.found) unwatch(watched)
      if (watched !== undefined && watched.valid) {
        this.keep(req.dir, watched, all)
        return this.fromKept(req, watched)
      }
      return this.view(req, all)
    }

    let filtered = req.q === '' ? names : names.filter(matches(req.q))
    if (req.order === 'desc') filtered = filtered.slice().reverse()
    const shown = this.slice(req, filtered)
    // stat'ed as it streams, through a folder opened (and proven) again: this one closes now
    if (shown.length > STREAM_ABOVE) return { stream: streamed(this.render(req, this.pageOf(req, filtered.length), dirStat, shown, names.length)) }
    if (req.limit === null) {
      const entries = await this.entries(base, shown, links, signal)
      return this.renderWhole(
        req,
        this.pageOf(req, entries.length),
        entries,
        req.q === '' ? entries.length : names.length
      )
    }
    // a page of a folder too big to stat whole: offsets count names, and the page is filled past
    // the names that cannot be listed; its total counts names too
    const { entries, end } = await this.fill(base, filtered, req.offset, req.limit, links, signal)
    const prev = req.offset > 0
      ? (await this.fill(base, filtered, Math.min(req.offset, filtered.length), req.limit, links, signal, -1)).end
      : undefined
    return this.renderWhole(req, this.pageOf(req, filtered.length, { next: end, prev }), entries, names.length)
  }

  /** Filters, orders and pages entries already in hand (kept, or just read), then renders them. */
  private view (req: ListRequest, all: Entry[]): Listing {
    let filtered = all
    if (req.q !== '') {
      const match = matches(req.q)
      filtered = all.filter((e) => match(e.name))
    }
    const ordered = sortView(filtered, req.sort, req.order, req.dirsFirst)
    // the HTML counts say "shown of all"; the page, JSON's total, counts what passed the filter
    // (at most STREAM_ABOVE entries come here: bigger folders are tables)
    return this.renderWhole(req, this.pageOf(req, ordered.length), this.slice(req, ordered), all.length)
  }

  private fromKept (req: ListRequest, kept: Kept): Listing {
    const key = this.key(req)
    let rendered = kept.bodies.get(key)
    if (rendered === undefined) {
      rendered = this.view(req, kept.entries) as Rendered
      kept.bodies.set(key, rendered)
    }
    return rendered
  }

  /** Starts watching `dir`; the returned record turns invalid (and stops watching) at the first change. */
  private watch (dir: string, dirStat: Stats): Kept | undefined {
    if (!this.canWatch) return undefined
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { persistent: false })
    /* c8 ignore start */ // out of inotify watches (ENOSPC): list without keeping
    } catch {
      return undefined
    }
    /* c8 ignore stop */
    const kept: Kept = {
      version: versionOf(dirStat),
      valid: true,
      watcher,
      checkedAt: Date.now(),
      entries: [],
      bodies: new LRUCache({ max: VARIANTS_PER_FOLDER })
    }
    const invalidate = (): void => {
      kept.valid = false
      watcher.close()
      if (this.kept.peek(dir) === kept) this.kept.delete(dir)
    }
    watcher.on('change', invalidate)
    watcher.on('error', invalidate)
    watcher.on('close', () => { kept.valid = false })
    return kept
  }

  private keep (dir: string, kept: Kept, entries: Entry[]): void {
    kept.entries = entries
    // a record it replaces, or the least recently used one past CACHED_FOLDERS, stops watching
    this.kept.set(dir, kept)
  }

  private key (req: ListRequest): string {
    return JSON.stringify([
      req.format, req.dirPath, req.isTop, req.sort, req.order, req.q, req.dirsFirst, req.offset, req.limit, req.assets,
      req.uploads?.hidden, req.live
    ])
  }

  /**
   * The entries kept for `dir`, if nothing changed. The turn of the event loop lets the watcher's
   * pending events run first: a change made before this request was sent is already queued by the kernel.
   */
  private async keptEntries (dir: string, dirStat: Stats): Promise<Kept | undefined> {
    const fresh = (k: Kept | undefined): k is Kept => k !== undefined && k.valid && k.version === versionOf(dirStat)
    if (!fresh(this.kept.get(dir))) return undefined
    await nextTurn()
    // looked up again: a record replaced meanwhile by a newer one (a concurrent first listing) hands over to it
    const kept = this.kept.get(dir)
    if (!fresh(kept)) return undefined
    const due = Date.now() - kept.checkedAt >= this.recheckMs
    // sub-folders on every use (a change inside one reaches only its own watch); every entry once a second
    const same = await this.unchanged(dir, kept, due)
    if (due) kept.checkedAt = Date.now()
    const now = this.kept.get(dir)
    if (now === kept && !same) {
      unwatch(kept)
      this.kept.delete(dir)
      return undefined
    }
    // the same record, or one that replaced it meanwhile (a concurrent first listing, read since
    // this request came), unless a change came within the check
    /* c8 ignore next */ // a change within the check: a race no test can time
    if (!fresh(now)) return undefined
    // the cache's get() has made it the most recently used
    return now
  }

  /**
   * Whether every kept entry still shows what it showed: kind, size and date (to the millisecond,
   * as the listing shows it).
   */
  private async unchanged (dir: string, kept: Kept, files: boolean): Promise<boolean> {
    const { entries } = kept
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && i % STAT_BATCH === 0) await nextTurn()
      const e = entries[i]
      if (!files && e.type === 'file') continue
      const s = lstatSync(dir + path.sep + e.name, NO_THROW)
      if (s === undefined || s.mtime.getTime() !== e.mtime.getTime() ||
          (e.type === 'file' ? !s.isFile() || s.size !== e.size : !s.isDirectory())) return false
    }
    return true
  }

  private head (req: ListRequest, page: Page | undefined, count?: number): string {
    return RENDERERS[req.format].head(req, page, count)
  }

  private row (req: ListRequest, e: Entry, first: boolean): string {
    return RENDERERS[req.format].row(e, first)
  }

  private tail (req: ListRequest, page: Page, t: Tally, total: number, count: number): string {
    return RENDERERS[req.format].tail(req, page, t, total, count)
  }

  private renderWhole (req: ListRequest, page: Page, entries: readonly Entry[], total: number): Rendered {
    let text = this.head(req, page, entries.length)
    for (let i = 0; i < entries.length; i++) text += this.row(req, entries[i], i === 0)
    text += this.tail(req, page, tally(entries), total, entries.length)
    const body = Buffer.from(text)
    return { body, etag: '"' + createHash('sha1').update(body).digest('base64url') + '"', coded: new Map() }
  }

  /**
   * The streamed form, stat'ing names as it goes. For a whole folder (`names` not given) the head
   * goes out before the folder is even read: reading and sorting 100,000 names takes longer than a
   * first byte should.
   */
  private async * render (
    req: ListRequest,
    page: Page | undefined,
    expected: Identity,
    names?: readonly string[],
    total?: number
  ): AsyncGenerator<string> {
    yield this.head(req, page, names?.length)
    // a turn for the head to leave: the rows need the folder opened (and proven) again
    await nextTurn()
    const folder = openFolder(req.dir, expected, this.verifyPath)
    try {
      yield * this.rows(req, page, folder, names, total)
    } finally {
      folder?.close()
    }
  }

  private async * rows (
    req: ListRequest,
    page: Page | undefined,
    folder: Folder | null,
    names?: readonly string[],
    total?: number
  ): AsyncGenerator<string> {
    const shown = folder === null ? null : names ?? await readNames(folder.base, this.showHidden)
    if (folder === null || shown === null) throw new Error(`folder vanished while listed: ${req.dir}`)
    const t: Tally = { folders: 0, files: 0, bytes: 0 }
    const links = { found: false }
    let emitted = 0
    let chunk = ''
    // one entry at a time, each row made as soon as its name is stat'ed: nothing lives longer than its row
    for (let i = 0; i < shown.length; i++) {
      if (i > 0 && i % STAT_BATCH === 0) await nextTurn()
      const e = this.entryOf(folder.base, shown[i], links)
      if (e === null) continue
      chunk += this.row(req, e, emitted++ === 0)
      count(t, e)
      if (chunk.length >= CHUNK) {
        yield chunk
        chunk = ''
      }
    }
    yield chunk
    // a whole folder's total is what was listed; a page's is the folder's count of names
    yield this.tail(req, page ?? this.pageOf(req, emitted), t, total ?? emitted, shown.length)
  }

  /** The streamed form of rows already ordered (`shown`, made into entries one at a time by `entry`). */
  private async * renderRows<T> (
    req: ListRequest,
    page: Page,
    shown: readonly T[],
    entry: (item: T) => Entry,
    totals: Tally,
    total: number
  ): AsyncGenerator<string> {
    yield this.head(req, page, shown.length)
    for (let i = 0; i < shown.length; i += STAT_BATCH) {
      if (i > 0) await nextTurn()
      let chunk = ''
      for (let j = i; j < Math.min(i + STAT_BATCH, shown.length); j++) chunk += this.row(req, entry(shown[j]), j === 0)
      yield chunk
    }
    yield this.tail(req, page, totals, total, shown.length)
  }

  /** Closes every watch (on server close). */
  close (): void {
    this.kept.clear()
  }
}
