// The tree watcher behind live reload, on real folders: what it tells (one batch per quiet period,
// URL-less paths below the root, sorted; `css` when every one is a stylesheet), what it never tells
// (node_modules, .git, hidden names, editor temp files, upload temp files, ignore globs, links
// the policy refuses), and how it ends (close, or out of inotify watches). What it costs is in
// live-watch-cost.test.ts.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { mkdirSync, renameSync, rmSync, symlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs'
import path from 'node:path'
import { TreeWatcher, type Change } from '../../lib/serve-dir/live/watch'
import type { WatchFolder } from '../../lib/serve-dir/live/folders'
import { watching } from './live-watching'

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
