// The served tree, watched for live reload (folders.ts: one inotify watch per folder, never per
// file), with the listings' visibility rules: hidden names and links the policy refuses are never
// reported, and folders no page is made of (node_modules, .git) are never even watched. Changes
// are gathered into one batch per quiet period, so an editor's atomic save (a temp file renamed
// over the page) is one reload; a batch of more paths than a page could care about is told as
// "everything changed".
import path from 'node:path'
import { lstatSync, statSync } from 'node:fs'
import picomatch from 'picomatch'
import { lookup, type SymlinkPolicy } from '../fs/lookup'
import { isTempName } from '../upload/names'
import { FolderWatches, type WatchFolder } from './folders'

export interface WatchOptions {
  realRoot: string
  symlinks: SymlinkPolicy
  showHidden: boolean
  /** picomatch globs, against the path below the root (`/`-separated); a glob without `/` matches a name anywhere. */
  ignore: readonly string[]
  debounceMs: number
  /** Folders watched at most; the others' changes are not told. */
  maxFolders: number
}

/**
 * One batch: the paths below the root that changed, sorted; `css` when every one is a stylesheet;
 * `all` (with no paths) when more changed than one batch tells.
 */
export interface Change { paths: string[], css: boolean, all?: true }

export interface WatchLog {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** Folders never watched, and editor swap and temp files never told (vim, emacs, JetBrains, most others). */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.serve-dir'])
const EDITOR_TEMP = /~$|^\.#|^#.*#$|^\..*\.sw[a-p]$|^4913$|___jb_(?:tmp|old)___$/
/** Paths one batch holds at most: past it, the batch is "everything changed" (a page reloads either way). */
export const MAX_PATHS = 1000

export class TreeWatcher {
  private folders: FolderWatches | null = null
  private readonly pending = new Set<string>()
  /** More paths changed in this batch than it holds. */
  private overflow = false
  private quiet?: NodeJS.Timeout
  private deadline?: NodeJS.Timeout
  private readonly ignored: (rel: string) => boolean

  /** @param watchFolder node:fs `watch` on one folder, or a stand-in (tests) */
  constructor (
    private readonly opts: WatchOptions,
    private readonly onChange: (change: Change) => void,
    private readonly log: WatchLog,
    private readonly watchFolder?: WatchFolder
  ) {
    const match = picomatch([...opts.ignore], { dot: true, basename: true })
    this.ignored = (rel) => match(rel)
  }

  /** Whether it is watching (not after close(), nor after running out of inotify watches). */
  get active (): boolean {
    return this.folders !== null
  }

  /** How many folders are watched. */
  get watched (): number {
    return this.folders?.size ?? 0
  }

  /** Starts watching; resolves once the tree is watched, or once it cannot be. */
  async start (): Promise<void> {
    const folders = new FolderWatches({
      root: this.opts.realRoot,
      follow: this.opts.symlinks === 'follow',
      maxFolders: this.opts.maxFolders,
      skipped: (names) => this.skipped(names)
    }, (names) => { this.changed(folders, names) }, (err) => {
      // once: the folders stop being watched with it, so none tries again
      this.log.error({ err }, 'live reload is off: out of inotify watches (raise fs.inotify.max_user_watches)')
      this.stop()
    }, this.log, this.watchFolder)
    this.folders = folders
    await folders.add('')
  }

  /** Whether the path `names` below the root is left out: never watched (a folder) and never told. */
  private skipped (names: string[]): boolean {
    return names.some((n) => SKIPPED_DIRS.has(n) || isTempName(n) || (!this.opts.showHidden && n.startsWith('.'))) ||
      EDITOR_TEMP.test(names[names.length - 1]) || this.ignored(names.join('/'))
  }

  /**
   * One event: gathered unless the policy refuses the path (a link out of the root); a path gone is
   * told (and no longer watched, if it was a folder); a new folder is watched.
   */
  private changed (folders: FolderWatches, names: string[]): void {
    if (names.length === 0 || this.skipped(names)) return
    const rel = names.join('/')
    const kind = this.kindOf(path.join(this.opts.realRoot, ...names))
    if (kind === 'gone') {
      folders.remove(rel)
    } else if (kind === 'folder' && !folders.has(rel)) {
      // a new folder, or one moved in: watched with what it holds (its name is told, not its files)
      folders.add(rel).catch(
        /* c8 ignore next */ // add() catches each error where it happens: a safety net only
        (err: unknown) => { this.log.warn({ err }, 'live reload: watching failed') })
    }
    if (kind === 'unknown' || (kind !== 'gone' && !this.visible(names))) return
    if (this.pending.size < MAX_PATHS) this.pending.add(rel)
    else this.overflow = true
    clearTimeout(this.quiet)
    this.quiet = setTimeout(() => { this.flush() }, this.opts.debounceMs).unref()
    // a file written without pause is still told, at the latest this long after its first write
    this.deadline ??= setTimeout(() => { this.flush() }, Math.max(1000, 10 * this.opts.debounceMs)).unref()
  }

  /**
   * What is at `file` now: nothing, a folder to watch (a link to one only under `follow`), or
   * anything else. Never throws (it runs in the watcher's events): a path that cannot be looked at
   * (a folder turned into a file under it, no permission) is not told.
   */
  private kindOf (file: string): 'gone' | 'folder' | 'other' | 'unknown' {
    try {
      const s = lstatSync(file, { throwIfNoEntry: false })
      if (s === undefined) return 'gone'
      if (s.isDirectory()) return 'folder'
      const followed = s.isSymbolicLink() && this.opts.symlinks === 'follow'
      return followed && statSync(file, { throwIfNoEntry: false })?.isDirectory() === true ? 'folder' : 'other'
    } catch {
      return 'unknown'
    }
  }

  /** Whether a path that is there may be told: as the policy allows. */
  private visible (names: string[]): boolean {
    try {
      return lookup(this.opts.realRoot, this.opts.realRoot, names, this.opts.symlinks, !this.opts.showHidden) !== null
    /* c8 ignore next 3 */ // lookup throws only for EACCES, which cannot be provoked as root
    } catch {
      return false
    }
  }

  private flush (): void {
    clearTimeout(this.quiet)
    clearTimeout(this.deadline)
    this.deadline = undefined
    const paths = [...this.pending].sort()
    this.pending.clear()
    if (this.overflow) {
      this.overflow = false
      this.onChange({ paths: [], css: false, all: true })
    } else {
      this.onChange({ paths, css: paths.every((p) => p.toLowerCase().endsWith('.css')) })
    }
  }

  /** Stops watching; a batch not yet told is dropped. */
  async close (): Promise<void> {
    this.stop()
  }

  private stop (): void {
    clearTimeout(this.quiet)
    clearTimeout(this.deadline)
    this.pending.clear()
    this.overflow = false
    const f = this.folders
    this.folders = null
    f?.close()
  }
}
