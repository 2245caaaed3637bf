// The served tree, watched for live reload (chokidar: inotify per folder, recursively), with the
// listings' visibility rules: hidden names and links the policy refuses are never reported, and
// folders no page is made of (node_modules, .git) are never even watched. Changes are gathered
// into one batch per quiet period, so an editor's atomic save (a temp file renamed over the page)
// is one reload.
import path from 'node:path'
import { lstatSync } from 'node:fs'
import { watch, type FSWatcher } from 'chokidar'
import picomatch from 'picomatch'
import { lookup, type SymlinkPolicy } from '../fs/lookup'
import { isTempName } from '../upload/names'

export interface WatchOptions {
  realRoot: string
  symlinks: SymlinkPolicy
  showHidden: boolean
  /** picomatch globs, against the path below the root (`/`-separated); a glob without `/` matches a name anywhere. */
  ignore: readonly string[]
  debounceMs: number
}

/** One batch: the paths below the root that changed, sorted; `css` when every one is a stylesheet. */
export interface Change { paths: string[], css: boolean }

export interface WatchLog {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** Folders never watched, and editor swap and temp files never told (vim, emacs, JetBrains, most others). */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.serve-dir'])
const EDITOR_TEMP = /~$|^\.#|^#.*#$|^\..*\.sw[a-p]$|^4913$|___jb_(?:tmp|old)___$/

export class TreeWatcher {
  private watcher: FSWatcher | null = null
  private readonly pending = new Set<string>()
  private quiet?: NodeJS.Timeout
  private deadline?: NodeJS.Timeout
  private readonly ignored: (rel: string) => boolean

  constructor (
    private readonly opts: WatchOptions,
    private readonly onChange: (change: Change) => void,
    private readonly log: WatchLog,
    private readonly factory: typeof watch = watch
  ) {
    const match = picomatch([...opts.ignore], { dot: true, basename: true })
    this.ignored = (rel) => match(rel)
  }

  /** Whether it is watching (not after close(), nor after running out of inotify watches). */
  get active (): boolean {
    return this.watcher !== null
  }

  /** Starts watching; resolves once the tree is watched, or once it cannot be. */
  async start (): Promise<void> {
    const w = this.factory(this.opts.realRoot, {
      ignoreInitial: true,
      followSymlinks: this.opts.symlinks === 'follow',
      ignored: (file) => this.skipped(file)
    })
    this.watcher = w
    w.on('all', (_event, file) => { this.changed(file) })
    await new Promise<void>((resolve) => {
      w.once('ready', resolve)
      w.on('error', (err) => {
        const e = err as NodeJS.ErrnoException
        if (this.watcher !== w) return
        if (e.code === 'ENOSPC') {
          this.log.error({ err: e }, 'live reload is off: out of inotify watches (raise fs.inotify.max_user_watches)')
          this.close().then(resolve, resolve)
        } else {
          this.log.warn({ err: e }, 'live reload: watching failed for a path')
        }
      })
    })
  }

  /** Whether `file` is left out: never watched (a folder) and never told. */
  private skipped (file: string): boolean {
    const rel = path.relative(this.opts.realRoot, file)
    if (rel === '') return false
    const names = rel.split(path.sep)
    return names.some((n) => SKIPPED_DIRS.has(n) || isTempName(n) || (!this.opts.showHidden && n.startsWith('.'))) ||
      EDITOR_TEMP.test(names[names.length - 1]) || this.ignored(names.join('/'))
  }

  /** One event: gathered unless the policy refuses the path (a link out of the root); a path gone is told. */
  private changed (file: string): void {
    const rel = path.relative(this.opts.realRoot, file)
    const names = rel.split(path.sep)
    if (!this.visible(file, names)) return
    this.pending.add(names.join('/'))
    clearTimeout(this.quiet)
    this.quiet = setTimeout(() => { this.flush() }, this.opts.debounceMs).unref()
    // a file written without pause is still told, at the latest this long after its first write
    this.deadline ??= setTimeout(() => { this.flush() }, Math.max(1000, 10 * this.opts.debounceMs)).unref()
  }

  /**
   * Whether a changed path may be told: gone (whatever it was, a page that showed it changed), or
   * there as the policy allows. Never throws (it runs in the watcher's events): a path that cannot
   * be looked at (a folder turned into a file under it, no permission) is not told.
   */
  private visible (file: string, names: string[]): boolean {
    try {
      if (lstatSync(file, { throwIfNoEntry: false }) === undefined) return true
      return lookup(this.opts.realRoot, this.opts.realRoot, names, this.opts.symlinks, !this.opts.showHidden) !== null
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
    this.onChange({ paths, css: paths.every((p) => p.toLowerCase().endsWith('.css')) })
  }

  /** Stops watching; a batch not yet told is dropped. */
  async close (): Promise<void> {
    clearTimeout(this.quiet)
    clearTimeout(this.deadline)
    this.pending.clear()
    const w = this.watcher
    this.watcher = null
    await w?.close()
    // chokidar's close() drops every listener: an error still on its way would be thrown
    w?.on('error', () => {})
  }
}
