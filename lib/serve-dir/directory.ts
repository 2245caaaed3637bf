// Folder listings: read, filter and sort the names, stat the entries shown, render HTML or JSON.
// Small folders are rendered whole (with an ETag) and kept, while an inotify watch says nothing
// in them changed; big folders are streamed, so memory stays bounded and the first byte is early.
import path from 'node:path'
import { createHash } from 'node:crypto'
import { lstatSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { lookup, type SymlinkPolicy } from './lookup'
import {
  jsonEntry, jsonHead, jsonTail, renderHtmlHead, renderHtmlRow, renderHtmlTail, sortNames,
  type Entry, type Page
} from './listing'

export type Format = 'html' | 'json'

/** Entries stat'ed between two turns of the event loop while listing, so other requests interleave. */
const STAT_BATCH = 512
/** Folders with more visible entries than this are streamed, never rendered whole or kept. */
export const STREAM_ABOVE = 5000
/** A folder whose own size (its entries' space on disk) passes this holds thousands of names: stream it head first. */
export const BIG_FOLDER_BYTES = 256 * 1024
/** How many rendered folders are kept (each holds one inotify watch). */
const CACHED_FOLDERS = 64

export interface ListRequest {
  /** Real path of the folder. */
  dir: string
  /** The folder's URL path, decoded, for the title. */
  dirPath: string
  isTop: boolean
  format: Format
  /** `null`: the whole folder. */
  offset: number
  limit: number | null
  /** The query without offset and limit, to build the neighbours' links (`''` or `a=b&`). */
  query: string
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
  /** Sub-folders are re-stat'ed on every hit: changes inside them do not reach this folder's watch. */
  subdirs: Array<{ name: string, mtimeMs: number }>
  entries: Entry[]
  bodies: Map<string, Rendered>
}

function versionOf (s: Stats): string {
  return `${s.ino}:${s.mtimeMs}:${s.ctimeMs}`
}

const NO_THROW = { throwIfNoEntry: false } as const

function unwatch (kept: Kept | undefined): void {
  if (kept === undefined) return
  kept.valid = false
  kept.watcher.close()
}

export class Lister {
  private readonly kept = new Map<string, Kept>()
  /** inotify makes the cache safe on Linux only; elsewhere every listing is read afresh. */
  private readonly canWatch: boolean

  constructor (
    private readonly realRoot: string,
    private readonly policy: SymlinkPolicy,
    private readonly showHidden: boolean,
    canWatch = process.platform === 'linux'
  ) {
    this.canWatch = canWatch
  }

  /** Visible names of `dir` in listing order; `null` when the folder is gone. Names only: no Dirent objects for 100,000 entries. */
  private async names (dir: string): Promise<string[] | null> {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return null
      /* c8 ignore start */ // EACCES cannot be provoked as root: test/e2e/unreadable.test.ts runs as an unprivileged user
      throw err
    }
    /* c8 ignore stop */
    return sortNames(this.showHidden ? names : names.filter((n) => n.charCodeAt(0) !== 0x2e))
  }

  /**
   * The entry for one name, or `null` if it is not servable (special file, dangling or refused
   * link, gone). `links.found` is set when a link was met: its target can change unseen.
   */
  private entryOf (dir: string, name: string, links: { found: boolean }): Entry | null {
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
    if (s === undefined) return null
    if (s.isDirectory()) return { name, type: 'directory', size: null, mtime: s.mtime }
    if (s.isFile()) return { name, type: 'file', size: s.size, mtime: s.mtime }
    return null // FIFOs, sockets and devices are never served, so not listed
  }

  /** Entries for `names`, stat'ed in batches with a turn of the event loop in between. */
  private async * entries (dir: string, names: readonly string[], links = { found: false }): AsyncGenerator<Entry[]> {
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      if (i > 0) await nextTurn()
      const batch: Entry[] = []
      for (let j = i; j < Math.min(i + STAT_BATCH, names.length); j++) {
        const e = this.entryOf(dir, names[j], links)
        if (e !== null) batch.push(e)
      }
      yield batch
    }
  }

  private pageOf (req: ListRequest, total: number): Page {
    if (req.limit === null) return { total, offset: 0, limit: null, prev: null, next: null }
    const link = (offset: number): string => `?${req.query}offset=${offset}&limit=${req.limit}`
    return {
      total,
      offset: req.offset,
      limit: req.limit,
      prev: req.offset > 0 ? link(Math.max(0, req.offset - req.limit)) : null,
      next: req.offset + req.limit < total ? link(req.offset + req.limit) : null
    }
  }

  /** Lists a folder; `null` when it is gone. */
  async list (req: ListRequest, dirStat: Stats): Promise<Listing | null> {
    const hit = await this.fromCache(req, dirStat)
    if (hit !== undefined) return hit

    if (req.limit === null && dirStat.size > BIG_FOLDER_BYTES) return { stream: Readable.from(this.render(req, undefined)) }

    // watch before reading, so that a change while we read is not missed
    const watched = req.limit === null ? this.watch(req.dir, dirStat) : undefined
    const all = await this.names(req.dir)
    if (all === null || all.length > STREAM_ABOVE) unwatch(watched) // gone, or too big to keep
    if (all === null) return null
    const end = req.limit === null ? all.length : Math.min(all.length, req.offset + req.limit)
    const shown = all.slice(Math.min(req.offset, all.length), end)
    if (shown.length > STREAM_ABOVE) {
      return { stream: Readable.from(this.render(req, this.pageOf(req, all.length), shown)) }
    }
    const entries: Entry[] = []
    const links = { found: false }
    for await (const batch of this.entries(req.dir, shown, links)) entries.push(...batch)
    // a link's target can change without any event in this folder
    if (links.found) unwatch(watched)
    const rendered = this.renderWhole(req, this.pageOf(req, req.limit === null ? entries.length : all.length), entries)
    if (watched !== undefined && watched.valid) this.keep(req, watched, entries, rendered)
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
    const kept: Kept = { version: versionOf(dirStat), valid: true, watcher, subdirs: [], entries: [], bodies: new Map() }
    const invalidate = (): void => {
      kept.valid = false
      watcher.close()
      if (this.kept.get(dir) === kept) this.kept.delete(dir)
    }
    watcher.on('change', invalidate)
    watcher.on('error', invalidate)
    watcher.on('close', () => { kept.valid = false })
    return kept
  }

  private keep (req: ListRequest, kept: Kept, entries: Entry[], rendered: Rendered): void {
    kept.entries = entries
    // Date keeps whole milliseconds; so does the listing, so that is the grain to compare at
    kept.subdirs = entries.filter((e) => e.type === 'directory').map((e) => ({ name: e.name, mtimeMs: e.mtime.getTime() }))
    kept.bodies.set(this.key(req), rendered)
    this.kept.get(req.dir)?.watcher.close()
    this.kept.set(req.dir, kept)
    if (this.kept.size > CACHED_FOLDERS) {
      const [oldest, k] = this.kept.entries().next().value as [string, Kept]
      k.watcher.close()
      this.kept.delete(oldest)
    }
  }

  private key (req: ListRequest): string {
    return `${req.format}\0${req.dirPath}\0${req.isTop ? 1 : 0}`
  }

  /**
   * A kept listing, if nothing changed. The turn of the event loop lets the watcher's pending
   * events run first: a change made before this request was sent is already queued by the kernel.
   */
  private async fromCache (req: ListRequest, dirStat: Stats): Promise<Listing | undefined> {
    if (req.limit !== null) return undefined
    const kept = this.kept.get(req.dir)
    if (kept === undefined || !kept.valid || kept.version !== versionOf(dirStat)) return undefined
    await nextTurn()
    if (!kept.valid) return undefined
    for (const sub of kept.subdirs) {
      const s = statSync(req.dir + path.sep + sub.name, { throwIfNoEntry: false })
      if (s === undefined || Math.trunc(s.mtimeMs) !== sub.mtimeMs) return undefined
    }
    // most recently used goes last
    this.kept.delete(req.dir)
    this.kept.set(req.dir, kept)
    let rendered = kept.bodies.get(this.key(req))
    if (rendered === undefined) {
      rendered = this.renderWhole(req, this.pageOf(req, kept.entries.length), kept.entries)
      kept.bodies.set(this.key(req), rendered)
    }
    return rendered
  }

  private renderWhole (req: ListRequest, page: Page, entries: readonly Entry[]): Rendered {
    let text = req.format === 'json' ? jsonHead(req.dirPath) : renderHtmlHead(req.dirPath, req.isTop, page.limit === null ? undefined : page, entries.length)
    for (let i = 0; i < entries.length; i++) {
      text += req.format === 'json' ? (i === 0 ? '' : ',') + jsonEntry(entries[i]) : renderHtmlRow(entries[i])
    }
    text += req.format === 'json' ? jsonTail(page) : renderHtmlTail(page.limit === null ? undefined : page, entries.length)
    const body = Buffer.from(text)
    return { body, etag: '"' + createHash('sha1').update(body).digest('base64url') + '"', coded: new Map() }
  }

  /**
   * The streamed form. For a whole folder (`names` not given) the head goes out before the folder
   * is even read: reading and sorting 100,000 names takes longer than a first byte should.
   */
  private async * render (req: ListRequest, page: Page | undefined, names?: readonly string[]): AsyncGenerator<string> {
    const json = req.format === 'json'
    const nav = page?.limit === null ? undefined : page
    yield json ? jsonHead(req.dirPath) : renderHtmlHead(req.dirPath, req.isTop, nav, names?.length)
    const shown = names ?? await this.names(req.dir)
    if (shown === null) throw new Error(`folder vanished while listed: ${req.dir}`)
    let emitted = 0
    for await (const batch of this.entries(req.dir, shown)) {
      let chunk = ''
      for (const e of batch) chunk += json ? (emitted++ === 0 ? '' : ',') + jsonEntry(e) : renderHtmlRow(e)
      yield chunk
    }
    // a whole folder's total is what was listed; a page's is the folder's count of names
    yield json ? jsonTail(page ?? this.pageOf(req, emitted)) : renderHtmlTail(nav, shown.length)
  }

  /** Closes every watch (on server close). */
  close (): void {
    for (const k of this.kept.values()) k.watcher.close()
    this.kept.clear()
  }
}
