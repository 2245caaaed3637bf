// The folders of the served tree, each watched once with node:fs `watch` (one inotify watch on a
// folder reports every change of its children: a file is never watched on its own), breadth first
// from the root, at most `maxFolders` of them. A real folder is watched under the first path that
// reaches it and never again (its device and inode are remembered), so a link loop is one folder;
// links are followed only when the policy follows every link. `fs.watch(dir, { recursive: true })`
// is not used: on Node 20 it watches every file of the tree, as chokidar 4 did.
import path from 'node:path'
import { lstatSync, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs'
import { opendir, stat } from 'node:fs/promises'
import type { WatchLog } from './watch'

/** node:fs `watch` on one folder, or a stand-in (tests). */
export type WatchFolder = (dir: string, listener: (event: string, name: string | null) => void) => FSWatcher

export interface FolderOptions {
  root: string
  /** Whether links to folders are followed (the `follow` policy): else a link is a name, never a folder. */
  follow: boolean
  maxFolders: number
  /** Whether a path below the root (its names) is never watched nor told. */
  skipped: (names: string[]) => boolean
}

interface Folder { handle: FSWatcher, key: string }

/** Entries read from the disk at once while walking a folder (each a few hundred bytes). */
const BATCH = 256

const watchFolder: WatchFolder = (dir, listener) => fsWatch(dir, { persistent: false }, listener)

export class FolderWatches {
  /** Folders watched, by their path below the root (`/`-separated, `''` the root). */
  private readonly folders = new Map<string, Folder>()
  /** The same, by their real folder (`dev:ino`). */
  private readonly byKey = new Map<string, string>()
  private full = false
  private stopped = false

  /**
   * @param onEvent a child of a watched folder changed (its names below the root)
   * @param onOutOfWatches inotify's budget is spent (ENOSPC): the caller stops watching
   */
  constructor (
    private readonly opts: FolderOptions,
    private readonly onEvent: (names: string[]) => void,
    private readonly onOutOfWatches: (err: NodeJS.ErrnoException) => void,
    private readonly log: WatchLog,
    private readonly watch: WatchFolder = watchFolder
  ) {}

  /** How many folders are watched. */
  get size (): number {
    return this.folders.size
  }

  /**
   * Watches the folder at `rel` and the folders below it, breadth first: the queue never holds
   * more folders than may still be watched, so a folder of a million folders costs no more.
   */
  async add (rel: string): Promise<void> {
    const queue = [rel]
    while (queue.length > 0 && !this.stopped) {
      const dir = queue.shift() as string
      if (!await this.watchOne(dir)) continue
      try {
        for await (const entry of await opendir(this.abs(dir), { bufferSize: BATCH })) {
          if (this.folders.size + queue.length >= this.opts.maxFolders) {
            this.spent()
            break
          }
          const child = dir === '' ? entry.name : dir + '/' + entry.name
          if (!(entry.isDirectory() || (entry.isSymbolicLink() && this.opts.follow))) continue
          if (!this.opts.skipped(child.split('/'))) queue.push(child)
        }
      } catch {
        // gone or unreadable meanwhile: what was watched of it stays until its removal is told
      }
    }
  }

  /** Watches one folder, unless it is not one (any more), is watched already, or the budget is spent. */
  private async watchOne (rel: string): Promise<boolean> {
    let s: Stats
    try {
      s = await stat(this.abs(rel))
    } catch {
      return false
    }
    if (!s.isDirectory() || this.stopped) return false
    const key = `${s.dev}:${s.ino}`
    const known = this.byKey.get(key)
    if (known !== undefined) {
      // the same real folder by another path (a link loop), unless it moved away from where it was
      if (await this.stillAt(known, key)) return false
      this.remove(known)
    }
    if (this.folders.size >= this.opts.maxFolders) {
      this.spent()
      return false
    }
    return this.open(rel, key)
  }

  /** The budget of folders is spent: said once. */
  private spent (): void {
    if (this.full) return
    this.full = true
    this.log.warn({ maxFolders: this.opts.maxFolders },
      'live reload: the tree has more folders than may be watched; changes in the others are not told')
  }

  private open (rel: string, key: string): boolean {
    let handle: FSWatcher
    try {
      handle = this.watch(this.abs(rel), (_event, name) => { this.changed(rel, name) })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'ENOSPC') this.onOutOfWatches(e)
      else this.log.warn({ err: e }, 'live reload: watching failed for a folder')
      return false
    }
    handle.on('error', (err) => {
      this.log.warn({ err }, 'live reload: watching failed for a folder')
      this.remove(rel)
    })
    this.folders.set(rel, { handle, key })
    this.byKey.set(key, rel)
    return true
  }

  /**
   * One event of the folder at `rel`. A folder removed or moved away also tells its own name, as if
   * it were a child of itself: that is left to its parent, which tells it as its child.
   */
  private changed (rel: string, name: string | null): void {
    if (this.stopped) return
    if (rel !== '' && !this.exists(rel)) {
      this.remove(rel)
      return
    }
    const names = rel === '' ? [] : rel.split('/')
    this.onEvent(name === null ? names : [...names, name])
  }

  /** Whether anything is at `rel` (never throws: it runs in the watcher's events). */
  private exists (rel: string): boolean {
    try {
      return lstatSync(this.abs(rel), { throwIfNoEntry: false }) !== undefined
    } catch {
      return false
    }
  }

  /** Whether the folder watched at `rel` is still the real folder `key`. */
  private async stillAt (rel: string, key: string): Promise<boolean> {
    try {
      const s = await stat(this.abs(rel))
      return `${s.dev}:${s.ino}` === key
    } catch {
      return false
    }
  }

  /** Whether `rel` is a folder watched: a change of it is the folder itself, added or gone. */
  has (rel: string): boolean {
    return this.folders.has(rel)
  }

  /** Stops watching the folder at `rel` and every folder below it (it is gone, or moved). */
  remove (rel: string): void {
    const below = rel + '/'
    for (const [r, f] of this.folders) {
      if (r !== rel && !(rel === '' || r.startsWith(below))) continue
      f.handle.close()
      this.folders.delete(r)
      this.byKey.delete(f.key)
    }
  }

  /** Stops watching every folder. */
  close (): void {
    this.stopped = true
    this.remove('')
  }

  private abs (rel: string): string {
    return rel === '' ? this.opts.root : path.join(this.opts.root, rel)
  }
}
