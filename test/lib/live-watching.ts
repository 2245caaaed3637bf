// The tree watcher on a real folder, for the live-watch tests: each batch it tells, in turn, and
// "nothing else was told" shown without sleeping: a sentinel file is written, and the batches up to
// its own must hold nothing else (but changes made just before, still on their way, when named).
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { TreeWatcher, type Change, type WatchOptions } from '../../lib/serve-dir/live/watch'
import type { WatchFolder } from '../../lib/serve-dir/live/folders'

export interface Logged { level: 'warn' | 'error', obj: object, msg: string }

export interface Watching {
  watcher: TreeWatcher
  /** The next batch, within 20 s. */
  next: () => Promise<Change>
  /** Writes a sentinel file, and resolves once its batch, which must be it alone, arrives. */
  quiet: (late?: string[]) => Promise<void>
  logged: Logged[]
}

let sentinels = 0

export async function watching (t: Test, root: string, opts: Partial<WatchOptions> = {}, factory?: WatchFolder): Promise<Watching> {
  const batches: Change[] = []
  const waiting: Array<() => void> = []
  const logged: Logged[] = []
  const watcher = new TreeWatcher(
    { realRoot: root, symlinks: 'inside', showHidden: false, ignore: [], debounceMs: 100, maxFolders: 10_000, ...opts },
    (change) => {
      batches.push(change)
      for (const w of waiting.splice(0)) w()
    },
    {
      warn: (obj, msg) => { logged.push({ level: 'warn', obj, msg }) },
      error: (obj, msg) => { logged.push({ level: 'error', obj, msg }) }
    },
    factory
  )
  t.teardown(() => watcher.close())
  await watcher.start()
  const next = async (): Promise<Change> => {
    const deadline = Date.now() + 20_000
    while (batches.length === 0) {
      if (Date.now() > deadline) throw new Error('no batch in 20 s')
      await new Promise<void>((resolve) => {
        waiting.push(resolve)
        // a ref'd timer: while nothing else is pending it keeps the wait (and the test) alive
        setTimeout(resolve, 1000)
      })
    }
    return batches.shift() as Change
  }
  /** A sentinel file is told, and nothing else before it but `late` (changes made just before, still on their way). */
  const quiet = async (late: string[] = []): Promise<void> => {
    const name = `sentinel-${++sentinels}.txt`
    writeFileSync(path.join(root, name), 'x')
    const told: string[] = []
    while (!told.includes(name)) told.push(...(await next()).paths)
    t.same(told.filter((p) => p !== name && !late.includes(p)), [], 'nothing else was told')
  }
  return { watcher, next, quiet, logged }
}
