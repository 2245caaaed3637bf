// The folders live reload watches, on real folders with a stand-in for node:fs `watch` (its
// listeners called by hand): a folder that moved or vanished while it was read or while its
// removal went unheard, a path that is no longer a folder, a link to a file, a close() mid-walk.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { opendirSync, renameSync, rmSync, symlinkSync, writeFileSync, type FSWatcher } from 'node:fs'
import path from 'node:path'
import { FolderWatches, type WatchFolder } from '../../lib/serve-dir/live/folders'

interface Fake {
  folders: FolderWatches
  /** Each watched folder's listener, by its path below the root. */
  listeners: Map<string, (event: string, name: string | null) => void>
  closed: string[]
  events: string[][]
}

function fake (t: Test, root: string, opts: { follow?: boolean, onWatch?: (rel: string) => void } = {}): Fake {
  const listeners = new Map<string, (event: string, name: string | null) => void>()
  const closed: string[] = []
  const events: string[][] = []
  const watch: WatchFolder = (dir, listener) => {
    const rel = path.relative(root, dir)
    opts.onWatch?.(rel)
    listeners.set(rel, listener)
    return Object.assign(new EventEmitter(), { close: () => { closed.push(rel) } }) as unknown as FSWatcher
  }
  const quiet = (): void => {}
  const folders = new FolderWatches({ root, follow: opts.follow ?? false, maxFolders: 100, skipped: () => false },
    (names) => { events.push(names) }, quiet, { warn: quiet, error: quiet }, watch)
  t.teardown(() => { folders.close() })
  return { folders, listeners, closed, events }
}

/** A folder's names in the order the disk gives them (readdirSync sorts them, opendir does not). */
function unsorted (dir: string): string[] {
  const d = opendirSync(dir)
  const names: string[] = []
  for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name)
  d.closeSync()
  return names
}

t.test('a folder that moved while its removal went unheard is watched where it is now', async (t) => {
  const root = t.testdir({ a: {} })
  const f = fake(t, root)
  await f.folders.add('')
  t.equal(f.folders.size, 2)
  renameSync(path.join(root, 'a'), path.join(root, 'b'))
  await f.folders.add('b')
  t.equal(f.folders.has('b'), true)
  t.equal(f.folders.has('a'), false)
  t.same(f.closed, ['a'], 'its old watch is closed')
  t.equal(f.folders.size, 2)
})

t.test('an event of a folder gone, or below a path that is no longer a folder, ends its watch', async (t) => {
  const root = t.testdir({ p: { c: {} }, gone: {} })
  const f = fake(t, root)
  await f.folders.add('')
  t.equal(f.folders.size, 4)
  rmSync(path.join(root, 'gone'), { recursive: true })
  f.listeners.get('gone')?.('rename', 'gone')
  rmSync(path.join(root, 'p'), { recursive: true })
  writeFileSync(path.join(root, 'p'), 'now a file')
  f.listeners.get('p/c')?.('rename', 'x')
  t.same(f.events, [], 'a folder telling its own removal is left to its parent')
  t.equal(f.folders.has('gone'), false)
  t.equal(f.folders.has('p/c'), false)
  f.listeners.get('')?.('change', null)
  f.listeners.get('')?.('rename', 'p')
  t.same(f.events, [[], ['p']], 'the root itself, then its child')
  f.folders.close()
  f.listeners.get('')?.('rename', 'late')
  t.equal(f.events.length, 2, 'nothing after close()')
})

t.test('folders that vanish while the tree is read are skipped', async (t) => {
  const root = t.testdir({ a: {}, b: {}, c: {} })
  // in the order the walk finds them: the last goes before it is looked at, the second after it
  // is watched, before it is read
  const [first, second, last] = unsorted(root)
  const f = fake(t, root, {
    onWatch: (rel) => {
      if (rel === first) rmSync(path.join(root, last), { recursive: true })
      if (rel === second) rmSync(path.join(root, second), { recursive: true })
    }
  })
  await f.folders.add('')
  t.same([...f.listeners.keys()].sort(), ['', first, second].sort())
})

t.test('under "follow", a link to a file is not a folder', async (t) => {
  const root = t.testdir({ 'a.html': 'a' })
  symlinkSync('a.html', path.join(root, 'link.html'))
  const f = fake(t, root, { follow: true })
  await f.folders.add('')
  t.equal(f.folders.size, 1)
})

t.test('close() while the tree is read leaves nothing watched', async (t) => {
  const root = t.testdir({ a: {} })
  const f = fake(t, root)
  const adding = f.folders.add('')
  f.folders.close()
  await adding
  t.equal(f.folders.size, 0)
  t.same([...f.listeners.keys()], [])
})
