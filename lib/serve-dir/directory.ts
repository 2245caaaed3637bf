// Folder listings: read, filter and sort the names, stat the entries shown, render HTML or JSON.
// Small folders are rendered whole (with an ETag) and kept, while an inotify watch says nothing
// in them changed; big folders are streamed, so memory stays bounded and the first byte is early.
import path from 'node:path'
import { createHash } from 'node:crypto'
import { statSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { lookup, type SymlinkPolicy } from './lookup'
import {
  JSON_TAIL, jsonEntry, jsonHead, renderHtmlHead, renderHtmlRow, renderHtmlTail, sortEntries,
  type Entry, type Page
} from './listing'

export type Format = 'html' | 'json'

/** Entries stat'ed between two turns of the event loop while listing, so other requests interleave. */
const STAT_BATCH = 512
/** Folders with more visible entries than this are streamed, never rendered whole or kept. */
export const STREAM_ABOVE = 5000
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

interface Candidate { name: string, dirent: Dirent }

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

/** Special files are never served, so they are not listed (and never stat'ed). */
function isSpecial (d: Dirent): boolean {
  return d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()
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

  /** Visible names of `dir` in listing order; `null` when the folder is gone. */
  private async candidates (dir: string): Promise<Candidate[] | null> {
    let dirents: Dirent[]
    try {
      dirents = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return null
      /* c8 ignore start */ // EACCES cannot be provoked as root: test/e2e/unreadable.test.ts runs as an unprivileged user
      throw err
    }
    /* c8 ignore stop */
    const visible: Candidate[] = []
    for (const d of dirents) {
      if ((this.showHidden || d.name.charCodeAt(0) !== 0x2e) && !isSpecial(d)) visible.push({ name: d.name, dirent: d })
    }
    return sortEntries(visible)
  }

  /** The entry for one candidate, or `null` if it is not servable (dangling or refused link, special file, gone). */
  private entryOf (dir: string, c: Candidate): Entry | null {
    let s: Stats | undefined
    try {
      if (c.dirent.isSymbolicLink()) {
        s = this.policy === 'deny' ? undefined : lookup(this.realRoot, dir, [c.name], this.policy, !this.showHidden)?.stat
      } else {
        s = statSync(dir + path.sep + c.name, { throwIfNoEntry: false })
      }
    /* c8 ignore next 3 */ // unreadable (EACCES), which root never is: not listed
    } catch {
      s = undefined
    }
    if (s === undefined) return null
    if (s.isDirectory()) return { name: c.name, type: 'directory', size: null, mtime: s.mtime }
    if (s.isFile()) return { name: c.name, type: 'file', size: s.size, mtime: s.mtime }
    return null
  }

  /** Entries for `candidates`, stat'ed in batches with a turn of the event loop in between. */
  private async * entries (dir: string, candidates: readonly Candidate[]): AsyncGenerator<Entry[]> {
    for (let i = 0; i < candidates.length; i += STAT_BATCH) {
      if (i > 0) await nextTurn()
      const batch: Entry[] = []
      for (let j = i; j < Math.min(i + STAT_BATCH, candidates.length); j++) {
        const e = this.entryOf(dir, candidates[j])
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

    // watch before reading, so that a change while we read is not missed
    const watched = req.limit === null ? this.watch(req.dir, dirStat) : undefined
    const all = await this.candidates(req.dir)
    if (watched !== undefined && (all === null || all.length > STREAM_ABOVE || all.some((c) => c.dirent.isSymbolicLink()))) {
      // too big to keep; or a link, whose target can change without any event in this folder
      watched.valid = false
      watched.watcher.close()
    }
    if (all === null) return null
    const end = req.limit === null ? all.length : Math.min(all.length, req.offset + req.limit)
    const shown = all.slice(Math.min(req.offset, all.length), end)
    if (shown.length > STREAM_ABOVE) {
      return { stream: Readable.from(this.render(req, this.pageOf(req, all.length), shown)) }
    }
    const entries: Entry[] = []
    for await (const batch of this.entries(req.dir, shown)) entries.push(...batch)
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
    let text = req.format === 'json' ? jsonHead(req.dirPath, page) : renderHtmlHead(req.dirPath, req.isTop, page.limit === null ? undefined : page, entries.length)
    for (let i = 0; i < entries.length; i++) {
      text += req.format === 'json' ? (i === 0 ? '' : ',') + jsonEntry(entries[i]) : renderHtmlRow(entries[i])
    }
    text += req.format === 'json' ? JSON_TAIL : renderHtmlTail(page.limit === null ? undefined : page, entries.length)
    const body = Buffer.from(text)
    return { body, etag: '"' + createHash('sha1').update(body).digest('base64url') + '"', coded: new Map() }
  }

  /** The streamed form: the head goes out before any entry is stat'ed. */
  private async * render (req: ListRequest, page: Page, shown: readonly Candidate[]): AsyncGenerator<string> {
    const nav = page.limit === null ? undefined : page
    const count = shown.length
    yield req.format === 'json' ? jsonHead(req.dirPath, page) : renderHtmlHead(req.dirPath, req.isTop, nav, count)
    let first = true
    for await (const batch of this.entries(req.dir, shown)) {
      let chunk = ''
      for (const e of batch) {
        if (req.format === 'json') {
          chunk += (first ? '' : ',') + jsonEntry(e)
          first = false
        } else {
          chunk += renderHtmlRow(e)
        }
      }
      yield chunk
    }
    yield req.format === 'json' ? JSON_TAIL : renderHtmlTail(nav, count)
  }

  /** Closes every watch (on server close). */
  close (): void {
    for (const k of this.kept.values()) k.watcher.close()
    this.kept.clear()
  }
}
