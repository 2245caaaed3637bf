// The walk of a folder for its archive: every visible file and folder below it, under the same
// policies as its listing, one at a time, counted against the archive's limits.
import path from 'node:path'
import { accessSync, constants as fsc, lstatSync, type Stats } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { lookup, type SymlinkPolicy } from '../fs/lookup'
import type { Identity } from '../fs/verified-open'
import { openFolder, readNames } from '../listing/folder'

/** Items stat'ed between two turns of the event loop, so other requests interleave. */
const STAT_BATCH = 512
const NO_THROW = { throwIfNoEntry: false } as const

/** A file or folder to put in an archive: its name inside it (`a/b/` for a folder), its path, its stat. */
export interface WalkItem { rel: string, path: string, stat: Stats }

/** What one archive may hold: bytes, entries, and folders one inside another. */
export interface ArchiveLimits { maxBytes: number, maxEntries: number, maxDepth: number }

/** A walk passed one of its limits. */
export class ArchiveLimitError extends Error {
  constructor (readonly limit: 'bytes' | 'entries' | 'depth') {
    super(`the folder holds more ${limit} than one archive may`)
  }
}

export class Walker {
  /** Whether an opened folder must be at exactly its real path (every policy but `follow`). */
  readonly verifyPath: boolean

  constructor (
    private readonly realRoot: string,
    private readonly policy: SymlinkPolicy,
    readonly showHidden: boolean
  ) {
    this.verifyPath = policy !== 'follow'
  }

  /**
   * Every visible file and folder below `dir` (whose stat is `top`), depth first in name order,
   * under the same policies as listings (hidden names, links, special files left out; a folder
   * reached twice through links is entered once), one at a time: an archive of 100,000 files holds
   * one item, the names of the folders above it, and one folder open. A folder that has grown past
   * `limits` since it was counted ({@link count}) fails the walk.
   */
  async * items (
    dir: string,
    top: Stats,
    limits: ArchiveLimits,
    aborted: () => boolean = () => false
  ): AsyncGenerator<WalkItem> {
    let entries = 0
    let bytes = 0
    // the folders from the top down to the one being walked: a link back to one of them is a loop
    const ancestors = new Set<string>([`${top.dev}:${top.ino}`])
    const walker = this
    async function * visit (real: string, expected: Identity, rel: string, depth: number): AsyncGenerator<WalkItem> {
      if (depth > limits.maxDepth) throw new ArchiveLimitError('depth')
      let folder = openFolder(real, expected, walker.verifyPath)
      /* c8 ignore next */ // a folder removed (or swapped) while the walk reaches it: a race no test can time
      if (folder === null) return
      try {
        const names = await readNames(folder.base, walker.showHidden)
        /* c8 ignore next */ // null only for a folder removed since it was opened: a race no test can time
        for (const name of names ?? []) {
          if (aborted()) return
          if (entries % STAT_BATCH === 0) await nextTurn()
          const found = walker.resolve(folder.base, real, name)
          if (found === null) continue
          const itemRel = rel + name
          if (found.stat.isDirectory()) {
            // a link back to a folder it is in (a loop) is left out; a link to another folder is
            // archived under its own name too, as the listing shows it
            const id = `${found.stat.dev}:${found.stat.ino}`
            if (ancestors.has(id)) continue
            if (++entries > limits.maxEntries) throw new ArchiveLimitError('entries')
            yield { rel: itemRel + '/', path: found.path, stat: found.stat }
            ancestors.add(id)
            // closed while the folder below is walked, and opened again after with the same proof:
            // one descriptor at a time however deep the tree, not one for each level
            folder.close()
            yield * visit(found.path, found.stat, itemRel + '/', depth + 1)
            ancestors.delete(id)
            folder = openFolder(real, expected, walker.verifyPath)
            /* c8 ignore next */ // removed (or swapped) while the folder below was walked: a race no test can time
            if (folder === null) return
          } else {
            bytes += found.stat.size
            if (++entries > limits.maxEntries) throw new ArchiveLimitError('entries')
            if (bytes > limits.maxBytes) throw new ArchiveLimitError('bytes')
            yield { rel: itemRel, path: found.path, stat: found.stat }
          }
        }
      } finally {
        folder?.close()
      }
    }
    // a folder the process may list but not enter: 403, as its listing (its files cannot be read)
    accessSync(dir, fsc.R_OK | fsc.X_OK)
    yield * visit(dir, top, '', 0)
  }

  /**
   * What {@link items} would give, counted without keeping any (an archive's limits are decided
   * before its first byte): `over` says which limit is passed. `each` sees every item.
   */
  async count (
    dir: string,
    top: Stats,
    limits: ArchiveLimits,
    aborted: () => boolean = () => false,
    each: (item: WalkItem) => void = () => {}
  ): Promise<{ entries: number, bytes: number } | { over: 'bytes' | 'entries' | 'depth' }> {
    let entries = 0
    let bytes = 0
    try {
      for await (const item of this.items(dir, top, limits, aborted)) {
        entries++
        if (!item.rel.endsWith('/')) bytes += item.stat.size
        each(item)
      }
    } catch (err) {
      if (err instanceof ArchiveLimitError) return { over: err.limit }
      throw err
    }
    return { entries, bytes }
  }

  /**
   * One name of the opened folder `base` (at real path `dir`) under the policies: its path to open
   * and its stat, or `null`. The stat comes through `base`; the open proves the path is that file.
   */
  private resolve (base: string, dir: string, name: string): { path: string, stat: Stats } | null {
    try {
      const s = lstatSync(base + path.sep + name, NO_THROW)
      /* c8 ignore next */ // a name removed between readdir and lstat: a race no test can time
      if (s === undefined) return null
      const found = !s.isSymbolicLink()
        ? { path: dir + path.sep + name, stat: s }
        : this.policy === 'deny' ? null : lookup(this.realRoot, dir, [name], this.policy, !this.showHidden)
      if (found === null || !(found.stat.isFile() || found.stat.isDirectory())) return null
      // what the process cannot read (or enter) is left out, before the archive has begun: a file
      // that failed to open mid-archive would cut the download and leave a broken archive
      accessSync(found.path, found.stat.isDirectory() ? fsc.R_OK | fsc.X_OK : fsc.R_OK)
      return found
    /* c8 ignore next 3 */ // unreadable (EACCES), which root never is: left out
    } catch {
      return null
    }
  }
}
