// The tree watcher behind live reload, on real folders: what it tells (one batch per quiet period,
// URL-less paths below the root, sorted; `css` when every one is a stylesheet), what it never tells
// (node_modules, .git, hidden names, editor temp files, upload temp files, ignore globs, links
// the policy refuses), and how it ends (close, or out of inotify watches); what it costs: one
// inotify watch per folder, never per file, never two on one real folder (a link loop), at most
// `maxFolders`.
//
// "Nothing else was told" is shown without sleeping: after the change under test, a sentinel file
// is written, and the next batch must be the sentinel alone; anything left over would be in it.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs'
import path from 'node:path'
import { MAX_PATHS, TreeWatcher, type Change, type WatchOptions } from '../../lib/serve-dir/live/watch'
import type { WatchFolder } from '../../lib/serve-dir/live/folders'
import { PATIENCE } from '../helper'

interface Logged { level: 'warn' | 'error', obj: object, msg: string }

interface Watching {
  watcher: TreeWatcher
  /** The next batch, within 20 s. */
  next: () => Promise<Change>
  /** Writes a sentinel file, and resolves once its batch, which must be it alone, arrives. */
  quiet: (late?: string[]) => Promise<void>
  logged: Logged[]
}

let sentinels = 0

async function watching (t: Test, root: string, opts: Partial<WatchOptions> = {}, factory?: WatchFolder): Promise<Watching> {
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

t.test('a change is told once its quiet period is over, as paths below the root', async (t) => {
  const root = t.testdir({ 'index.html': 'a', 'style.css': 'a', sub: { deep: { 'x.CSS': 'a' } } })
  const w = await watching(t, root)
  t.equal(w.watcher.active, true)
  writeFileSync(path.join(root, 'style.css'), 'b')
  t.same(await w.next(), { paths: ['style.css'], css: true }, 'a stylesheet alone')
  writeFileSync(path.join(root, 'style.css'), 'c')
  writeFileSync(path.join(root, 'sub', 'deep', 'x.CSS'), 'b')
  t.same(await w.next(), { paths: ['style.css', 'sub/deep/x.CSS'], css: true }, 'stylesheets, whatever the case of .css')
  writeFileSync(path.join(root, 'style.css'), 'd')
  writeFileSync(path.join(root, 'index.html'), 'b')
  t.same(await w.next(), { paths: ['index.html', 'style.css'], css: false }, 'a page among them: no longer only stylesheets')
  mkdirSync(path.join(root, 'new'))
  t.same(await w.next(), { paths: ['new'], css: false }, 'a new folder')
  writeFileSync(path.join(root, 'new', 'a.html'), 'a')
  t.same(await w.next(), { paths: ['new/a.html'], css: false }, 'a file in a folder made after the start is seen')
  rmSync(path.join(root, 'index.html'))
  t.same(await w.next(), { paths: ['index.html'], css: false }, 'a file removed')
  rmSync(path.join(root, 'new'), { recursive: true })
  const gone = await w.next()
  t.same(gone.paths.includes('new'), true, 'a folder removed')
  await w.quiet()
})

t.test("an editor's atomic save (write a temp, rename it over the page) is one batch", async (t) => {
  const root = t.testdir({ 'index.html': 'v1' })
  const w = await watching(t, root, { debounceMs: 300 })
  // vim: writes 4913 to probe the folder, a swap file, then the page under a backup name dance
  writeFileSync(path.join(root, '4913'), '')
  rmSync(path.join(root, '4913'))
  writeFileSync(path.join(root, '.index.html.swp'), 'swap')
  writeFileSync(path.join(root, 'index.html.tmp~'), 'v2')
  renameSync(path.join(root, 'index.html.tmp~'), path.join(root, 'index.html'))
  rmSync(path.join(root, '.index.html.swp'))
  t.same(await w.next(), { paths: ['index.html'], css: false })
  await w.quiet()
})

t.test('100 files touched at once are one batch', async (t) => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 100; i++) files[`f${String(i).padStart(3, '0')}.css`] = 'a'
  const root = t.testdir(files)
  const w = await watching(t, root, { debounceMs: 300 })
  for (const name of Object.keys(files)) writeFileSync(path.join(root, name), 'b')
  t.same(await w.next(), { paths: Object.keys(files).sort(), css: true })
  await w.quiet()
})

t.test('a file written without pause is still told, at the latest after the longest wait', async (t) => {
  const root = t.testdir({ 'log.html': '' })
  // quiet period 100 ms: the longest wait is 1 s; a write every 20 ms never leaves a quiet period
  const w = await watching(t, root, { debounceMs: 100 })
  const got: { told?: Change } = {}
  const started = Date.now()
  const telling = w.next().then((c) => { got.told = c })
  for (let i = 0; got.told === undefined && Date.now() - started < 20_000; i++) {
    writeFileSync(path.join(root, 'log.html'), String(i))
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await telling
  t.same(got.told, { paths: ['log.html'], css: false }, 'told while the writes went on')
  // the writes made between that batch and the loop's end make one more
  await w.quiet(['log.html'])
})

t.test('what is never told: node_modules, .git, hidden names, editor and upload temp files, ignore globs', async (t) => {
  const root = t.testdir({
    node_modules: { pkg: { 'index.js': 'a' } },
    '.git': { HEAD: 'a' },
    '.hidden': { 'page.html': 'a' },
    build: { out: { 'x.js': 'a' } },
    sub: { node_modules: {} },
    'page.html': 'a'
  })
  const w = await watching(t, root, { ignore: ['*.log', 'build/**', 'sub/skip.html'] })
  const never = [
    'node_modules/pkg/index.js', 'node_modules/new.js', 'sub/node_modules/y.js', '.git/HEAD', '.git/index',
    '.hidden/page.html', '.env', 'sub/.secret',
    'page.html~', '.#page.html', '#page.html#', '.page.html.swp', '.page.html.swx', '4913',
    '.serve-dir-upload-abc123', 'sub/.serve-dir-upload-x', 'page.html___jb_tmp___', 'page.html___jb_old___',
    'debug.log', 'sub/deep.log', 'build/out/x.js', 'build/new.js', 'sub/skip.html'
  ]
  mkdirSync(path.join(root, 'sub', 'node_modules'), { recursive: true })
  for (const rel of never) writeFileSync(path.join(root, rel), 'b')
  await w.quiet()
  writeFileSync(path.join(root, 'sub', 'kept.html'), 'b')
  t.same(await w.next(), { paths: ['sub/kept.html'], css: false }, 'a glob with a slash matches that path only')
  writeFileSync(path.join(root, 'movie.swf'), 'b')
  t.same(await w.next(), { paths: ['movie.swf'], css: false }, 'a name like a swap file that is not hidden is a file')
})

t.test('with hidden names shown, hidden files are told; .git and node_modules still are not', async (t) => {
  const root = t.testdir({ '.git': { HEAD: 'a' }, '.well-known': {} })
  const w = await watching(t, root, { showHidden: true })
  writeFileSync(path.join(root, '.git', 'HEAD'), 'b')
  writeFileSync(path.join(root, '.env'), 'b')
  writeFileSync(path.join(root, '.well-known', 'a.txt'), 'b')
  t.same(await w.next(), { paths: ['.env', '.well-known/a.txt'], css: false })
  await w.quiet()
})

t.test('links the policy refuses are never told; a link within the root is', async (t) => {
  const dir = t.testdir({ root: { 'a.html': 'a', 'in.html': 'a' }, outside: { 'secret.html': 'a' } })
  const root = path.join(dir, 'root')
  const w = await watching(t, root)
  symlinkSync('../outside/secret.html', path.join(root, 'out.html'))
  symlinkSync('../outside', path.join(root, 'outdir'))
  symlinkSync('missing.html', path.join(root, 'dangling.html'))
  await w.quiet()
  writeFileSync(path.join(dir, 'outside', 'secret.html'), 'b')
  await w.quiet()
  symlinkSync('in.html', path.join(root, 'link.html'))
  t.same(await w.next(), { paths: ['link.html'], css: false }, 'a link to a file in the root')
  rmSync(path.join(root, 'out.html'))
  t.same(await w.next(), { paths: ['out.html'], css: false }, 'a link removed is told: the page that showed it changed')
})

t.test('under "deny", every link is refused', async (t) => {
  const root = t.testdir({ 'in.html': 'a' })
  const w = await watching(t, root, { symlinks: 'deny' })
  symlinkSync('in.html', path.join(root, 'link.html'))
  await w.quiet()
})

t.test('close() stops telling, drops a batch not yet told, and may be called twice', async (t) => {
  const root = t.testdir({ 'a.html': 'a' })
  const told: Change[] = []
  let seen: () => void = () => {}
  const arrived = new Promise<void>((resolve) => { seen = resolve })
  // node:fs itself, with an ear on its events: the write has reached the watcher before close()
  const factory: WatchFolder = (dir, listener) => watch(dir, (e, name) => { listener(e, name); seen() })
  const watcher = new TreeWatcher({ realRoot: root, symlinks: 'inside', showHidden: false, ignore: [], debounceMs: 50, maxFolders: 10 },
    (c) => { told.push(c) }, { warn: () => {}, error: () => {} }, factory)
  await watcher.start()
  writeFileSync(path.join(root, 'a.html'), 'b')
  await arrived
  await watcher.close()
  t.equal(watcher.active, false)
  t.equal(watcher.watched, 0)
  await watcher.close()
  // an absence can only be waited for: six quiet periods
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(told, [], 'the batch gathered before close() is never told')
})

function errno (code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: watch`), { code })
}

t.test('out of inotify watches: one error naming the sysctl, and watching stops', async (t) => {
  const root = t.testdir({ a: {}, b: {} })
  let tried = 0
  // every folder out of watches: still one line
  const factory: WatchFolder = () => { tried++; throw errno('ENOSPC') }
  const w = await watching(t, root, {}, factory)
  t.equal(w.watcher.active, false, 'start() resolved, not watching')
  t.equal(tried, 1, 'no folder tried after the first refusal')
  t.equal(w.logged.length, 1)
  t.match(w.logged[0], { level: 'error', msg: /fs\.inotify\.max_user_watches/, obj: { err: { code: 'ENOSPC' } } })
})

t.test('any other watch error is a warning, and watching goes on', async (t) => {
  const root = t.testdir({ locked: {}, broken: {}, 'a.html': 'a' })
  const handles = new Map<string, FSWatcher>()
  const factory: WatchFolder = (dir, listener) => {
    if (path.basename(dir) === 'locked') throw errno('EACCES')
    const h = watch(dir, { persistent: false }, listener)
    handles.set(path.basename(dir), h)
    return h
  }
  const w = await watching(t, root, {}, factory)
  t.equal(w.watcher.active, true)
  t.equal(w.watcher.watched, 2, 'the root and broken/')
  t.match(w.logged, [{ level: 'warn', msg: /watching failed/, obj: { err: { code: 'EACCES' } } }])
  handles.get('broken')?.emit('error', errno('EIO'))
  t.match(w.logged[1], { level: 'warn', msg: /watching failed/, obj: { err: { code: 'EIO' } } })
  t.equal(w.watcher.watched, 1, 'a folder whose watch failed is no longer watched')
  writeFileSync(path.join(root, 'a.html'), 'b')
  t.same(await w.next(), { paths: ['a.html'], css: false }, 'the others are')
})

t.test('a path that cannot be looked at is not told, and the server does not fall over', async (t) => {
  const root = t.testdir({ sub: {}, 'file.txt': 'a' })
  const listeners = new Map<string, (event: string, name: string | null) => void>()
  const factory: WatchFolder = (dir, listener) => {
    listeners.set(path.relative(root, dir), listener)
    return Object.assign(new EventEmitter(), { close: () => {} }) as unknown as FSWatcher
  }
  const w = await watching(t, root, {}, factory)
  // as an event comes late for a folder that has become a file since (git checkout)
  rmSync(path.join(root, 'sub'), { recursive: true })
  writeFileSync(path.join(root, 'sub'), 'now a file')
  const sub = listeners.get('sub')
  t.doesNotThrow(() => sub?.('rename', 'x.html'), 'ENOTDIR is no crash')
  listeners.get('')?.('change', null)
  listeners.get('')?.('change', 'file.txt')
  t.same(await w.next(), { paths: ['file.txt'], css: false }, 'only what could be looked at was told (not the root)')
})

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
