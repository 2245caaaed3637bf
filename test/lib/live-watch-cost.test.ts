// What watching the tree costs, and its bounds: one inotify watch per folder, never per file
// (counted in /proc/self/fdinfo), never two on one real folder (a link loop is one folder), links
// followed only under "follow", at most maxFolders folders, at most MAX_PATHS paths a batch.
import t from 'tap'
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { MAX_PATHS } from '../../lib/serve-dir/live/watch'
import { PATIENCE } from '../helper'
import { watching } from './live-watching'

/** inotify watches this process holds now, read from /proc/self/fdinfo (one `inotify wd:` line each). */
function inotifyWatches (): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue
      n += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length
    } catch {
      // a descriptor closed while we looked
    }
  }
  return n
}

t.test('one inotify watch per folder, never per file: files made later add none', { skip: process.platform !== 'linux' && 'inotify' }, async (t) => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 300; i++) files[`f${i}.html`] = 'a'
  const root = t.testdir({ ...files, a: { ...files, b: { ...files } }, c: {} })
  const before = inotifyWatches()
  const w = await watching(t, root)
  t.equal(w.watcher.watched, 4, 'the root, a, a/b and c')
  t.equal(inotifyWatches() - before, 4, 'four watches for 900 files in four folders')
  for (let i = 0; i < 100; i++) writeFileSync(path.join(root, 'c', `new${i}.html`), 'a')
  t.equal((await w.next()).paths.length, 100, 'files are told by their folder')
  t.equal(inotifyWatches() - before, 4, 'and cost no watch of their own')
  mkdirSync(path.join(root, 'c', 'd', 'e'), { recursive: true })
  t.same(await w.next(), { paths: ['c/d'], css: false })
  // its folders are watched a moment later: until a file in the deepest is told (each round ends
  // with a batch, as the file beside c/ is told either way)
  const deadline = Date.now() + PATIENCE
  for (let i = 0; Date.now() < deadline; i++) {
    writeFileSync(path.join(root, 'c', 'd', 'e', 'x.html'), String(i))
    writeFileSync(path.join(root, 'c', 'beside.txt'), String(i))
    if ((await w.next()).paths.includes('c/d/e/x.html')) break
  }
  t.equal(inotifyWatches() - before, 6, 'a new folder costs one, with the folders in it')
  rmSync(path.join(root, 'c'), { recursive: true })
  t.ok((await w.next()).paths.includes('c'))
  t.equal(w.watcher.watched, 3, 'a folder removed is no longer watched, nor those below it')
})

t.test('at most maxFolders folders are watched: one line, the others are not told, the rest is', async (t) => {
  const root = t.testdir({ a: { deep: {} }, b: {}, c: {}, d: {} })
  const w = await watching(t, root, { maxFolders: 3 })
  t.equal(w.watcher.watched, 3, 'the root and two folders')
  t.match(w.logged, [{ level: 'warn', msg: /more folders than may be watched/, obj: { maxFolders: 3 } }])
  for (const f of ['a', 'b', 'c', 'd']) writeFileSync(path.join(root, f, 'x.html'), 'a')
  mkdirSync(path.join(root, 'e'))
  const told = await w.next()
  t.equal(told.paths.filter((p) => p.endsWith('x.html')).length, 2, 'changes in two of the four folders')
  t.ok(told.paths.includes('e'), 'a folder made in a watched one is told')
  await w.quiet()
  writeFileSync(path.join(root, 'e', 'y.html'), 'a')
  await w.quiet()
  t.equal(w.logged.length, 1, 'said once')
})

t.test('a link loop under "follow" is watched once, in bounded time', async (t) => {
  const root = t.testdir({ a: { 'page.html': 'a' }, b: {} })
  symlinkSync('.', path.join(root, 'loop'))
  symlinkSync('..', path.join(root, 'a', 'up'))
  symlinkSync('../a', path.join(root, 'b', 'side'))
  const before = inotifyWatches()
  const w = await watching(t, root, { symlinks: 'follow' })
  t.equal(w.watcher.watched, 3, 'the root, a and b: each real folder once')
  if (process.platform === 'linux') t.equal(inotifyWatches() - before, 3)
  writeFileSync(path.join(root, 'a', 'page.html'), 'b')
  t.same(await w.next(), { paths: ['a/page.html'], css: false }, 'told by the first path to it')
  symlinkSync('..', path.join(root, 'b', 'again'))
  t.same(await w.next(), { paths: ['b/again'], css: false }, 'a new link to a folder watched is told, not watched again')
  t.equal(w.watcher.watched, 3)
})

t.test('a followed link to a folder outside the root is watched under "follow" only', async (t) => {
  const dir = t.testdir({ root: {}, outside: { 'x.html': 'a' } })
  const root = path.join(dir, 'root')
  symlinkSync('../outside', path.join(root, 'out'))
  const inside = await watching(t, root)
  t.equal(inside.watcher.watched, 1, '"inside": links are names, never folders to watch')
  const follow = await watching(t, root, { symlinks: 'follow' })
  t.equal(follow.watcher.watched, 2)
  writeFileSync(path.join(dir, 'outside', 'x.html'), 'b')
  t.same(await follow.next(), { paths: ['out/x.html'], css: false }, 'told by the path through the link')
  await inside.quiet()
})

t.test('a batch of more paths than one tells is "everything changed"', async (t) => {
  const root = t.testdir({})
  const w = await watching(t, root, { debounceMs: 300 })
  for (let i = 0; i <= MAX_PATHS; i++) writeFileSync(path.join(root, `f${i}.css`), 'a')
  t.same(await w.next(), { paths: [], css: false, all: true })
  await w.quiet()
})
