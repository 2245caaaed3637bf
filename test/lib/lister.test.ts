import t from 'tap'
import path from 'node:path'
import zlib from 'node:zlib'
import { appendFileSync, linkSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { Lister, STREAM_ABOVE, type ListRequest } from '../../lib/serve-dir/listing/lister'
import { serve, setup, waitFor } from '../helper'

const json = { accept: 'application/json' }
const baseView: Omit<ListRequest, 'dir' | 'dirPath' | 'isTop' | 'format'> = { crumbs: [], assets: '', sort: 'name', order: 'asc', q: '', limit: null, offset: 0, dirsFirst: false }

function folder (n: number): Record<string, string> {
  const files: Record<string, string> = {}
  for (let i = 0; i < n; i++) files[`f${String(i).padStart(6, '0')}.dat`] = ''
  return files
}

t.test('a big folder is streamed: complete, sorted, no length and no tag', async (t) => {
  const n = STREAM_ABOVE + 7
  const app = await setup(t, { big: folder(n) })
  const res = await app.inject({ url: '/big/', headers: json })
  t.equal(res.statusCode, 200)
  t.notOk(res.headers['content-length'], 'streamed')
  t.notOk(res.headers.etag, 'no tag before the body is known')
  const body = res.json()
  t.equal(body.total, n)
  t.equal(body.entries.length, n)
  t.equal(body.entries[0].name, 'f000000.dat')
  t.equal(body.entries[n - 1].name, `f${String(n - 1).padStart(6, '0')}.dat`)
  const html = await app.inject('/big/')
  t.equal(html.body.split('<tr data-name="f0').length - 1, n)
  t.match(html.body, /<\/html>\n$/)
  const head = await app.inject({ method: 'HEAD', url: '/big/' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  const page = await app.inject({ url: `/big/?limit=${n - 1}`, headers: json })
  t.notOk(page.headers['content-length'], 'a big page is streamed too')
  t.match(page.json(), { total: n, offset: 0, limit: n - 1, next: `?format=json&offset=${n - 1}&limit=${n - 1}` })
  t.match((await app.inject(`/big/?limit=${n - 1}`)).body, `entries 1-${n - 1} of ${n}`)
  const gz = await app.inject({ url: '/big/', headers: { ...json, 'accept-encoding': 'gzip' } })
  t.equal(gz.headers['content-encoding'], 'gzip')
  t.equal(JSON.parse(zlib.gunzipSync(gz.rawPayload).toString()).entries.length, n)
})

t.test('pages: ?offset=&limit=, linked to each other, in every format', async (t) => {
  const app = await setup(t, { d: folder(5), e: {} })
  const first = (await app.inject({ url: '/d/?limit=2', headers: json })).json()
  t.match(first, { path: '/d/', total: 5, offset: 0, limit: 2, prev: null, next: '?format=json&offset=2&limit=2' })
  t.same(first.entries.map((e: { name: string }) => e.name), ['f000000.dat', 'f000001.dat'])
  const second = (await app.inject({ url: '/d/' + first.next, headers: json })).json()
  t.match(second, { offset: 2, prev: '?format=json&offset=0&limit=2', next: '?format=json&offset=4&limit=2' })
  t.same(second.entries.map((e: { name: string }) => e.name), ['f000002.dat', 'f000003.dat'])
  const last = (await app.inject({ url: '/d/' + second.next, headers: json })).json()
  t.match(last, { offset: 4, next: null })
  t.equal(last.entries.length, 1)
  t.equal((await app.inject({ url: '/d/?offset=9&limit=2', headers: json })).json().entries.length, 0, 'past the end: an empty page')

  const q = (await app.inject('/d/?format=json&limit=2&offset=2')).json()
  t.equal(q.next, '?format=json&offset=4&limit=2', 'other parameters are kept in the links')
  const html = await app.inject('/d/?limit=2&offset=2')
  t.match(html.body, '<a rel="prev" href="?offset=0&amp;limit=2">previous</a> entries 3-4 of 5 <a rel="next" href="?offset=4&amp;limit=2">next</a>')
  t.match((await app.inject('/d/?limit=2&offset=9')).body, 'entries 5-5 of 5')
  t.match((await app.inject('/e/?limit=2')).body, 'entries 0-0 of 0')

  for (const bad of ['limit=0', 'limit=-1', 'limit=x', 'offset=1.5', 'offset=', 'limit=9999999999999999', 'offset=2']) {
    const res = await app.inject({ url: '/d/?' + bad, headers: json })
    t.equal(res.statusCode, 400, bad)
    t.equal(res.json().code, 'FST_SERVE_DIR_BAD_QUERY', bad)
  }
})

t.test('a big folder sorted by size streams its sorted entries', async (t) => {
  const files = folder(STREAM_ABOVE + 3)
  files['f000007.dat'] = 'the biggest'
  const app = await setup(t, { big: files })
  const res = await app.inject({ url: '/big/?sort=size&order=desc', headers: json })
  t.notOk(res.headers['content-length'], 'streamed')
  const body = res.json()
  t.equal(body.entries.length, STREAM_ABOVE + 3)
  t.equal(body.entries[0].name, 'f000007.dat')
  t.match(body, { sort: 'size', order: 'desc', total: STREAM_ABOVE + 3 })
  t.match((await app.inject('/big/?sort=mtime')).body, `${STREAM_ABOVE + 3} files`)
})

t.test('a big folder filtered or reversed by name needs no stat of the rest', async (t) => {
  const app = await setup(t, { big: folder(STREAM_ABOVE + 3) })
  const some = (await app.inject({ url: '/big/?q=F00012', headers: json })).json()
  t.same(some.entries.map((e: { name: string }) => e.name), Array.from({ length: 10 }, (_, i) => `f00012${i}.dat`))
  t.match(some, { total: 10, q: 'F00012' })
  const last = (await app.inject({ url: '/big/?order=desc&limit=2', headers: json })).json()
  t.same(last.entries.map((e: { name: string }) => e.name), [`f00${STREAM_ABOVE + 2}.dat`, `f00${STREAM_ABOVE + 1}.dat`])
})

t.test('many views of one kept folder: the oldest rendering is dropped, all stay right', async (t) => {
  const app = await setup(t, { d: { 'a1.txt': 'a', 'b2.txt': 'b', 'c3.txt': 'c' } })
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20; i++) {
      const body = (await app.inject({ url: `/d/?q=${i % 4}&limit=${i + 1}`, headers: json })).json()
      t.same(body.entries.map((e: { name: string }) => e.name), ['', 'a1.txt', 'b2.txt', 'c3.txt'][i % 4] === '' ? [] : [['', 'a1.txt', 'b2.txt', 'c3.txt'][i % 4]])
    }
  }
})

t.test('a page of a big folder stats only that page', async (t) => {
  const app = await setup(t, { big: folder(STREAM_ABOVE + 1) })
  const res = (await app.inject({ url: `/big/?offset=${STREAM_ABOVE - 2}&limit=10`, headers: json })).json()
  t.equal(res.entries.length, 3)
  t.equal(res.next, null)
})

t.test('pages of a big folder are filled past names that cannot be listed, and follow on', async (t) => {
  const tree: Record<string, unknown> = folder(STREAM_ABOVE + 1)
  // first in name order, and never listed: links out of the root or to a hidden file
  tree['a-out'] = t.fixture('symlink', '/etc/passwd')
  tree['b-hidden'] = t.fixture('symlink', '.env')
  tree['.env'] = 'secret'
  const app = await setup(t, { big: tree as never })
  const first = (await app.inject({ url: '/big/?format=json&limit=2', headers: json })).json()
  t.same(first.entries.map((e: { name: string }) => e.name), ['f000000.dat', 'f000001.dat'], 'a full first page')
  t.equal(first.next, '?format=json&offset=4&limit=2', 'the next page starts after the names this one used')
  const second = (await app.inject({ url: '/big/' + first.next as string, headers: json })).json()
  t.same(second.entries.map((e: { name: string }) => e.name), ['f000002.dat', 'f000003.dat'], 'nothing skipped, nothing twice')
  const back = (await app.inject({ url: '/big/' + second.prev as string, headers: json })).json()
  t.same(back.entries, first.entries, 'and back: the previous page shows what the first did')
  const third = (await app.inject({ url: '/big/' + second.next as string, headers: json })).json()
  t.equal(third.prev, '?format=json&offset=4&limit=2', 'a previous page without skips starts limit names before')
  const past = (await app.inject({ url: `/big/?format=json&limit=3&offset=${STREAM_ABOVE + 100}`, headers: json })).json()
  t.same(past.entries, [], 'past the end: an empty page')
  // STREAM_ABOVE + 3 names (the files and two refused links): the last three are files
  t.equal(past.prev, `?format=json&offset=${STREAM_ABOVE}&limit=3`, 'whose previous page is the last one')
})

t.test('a folder holding links is read afresh every time', async (t) => {
  const root = t.testdir({ d: { link: t.fixture('symlink', '../target.txt') }, 'target.txt': 'a' })
  const app = await serve(t, root)
  const size = async (): Promise<number> => (await app.inject({ url: '/d/', headers: json })).json().entries[0].size
  t.equal(await size(), 1)
  t.equal(await size(), 1)
  writeFileSync(path.join(root, 'target.txt'), 'abc')
  t.equal(await size(), 3, 'a change to a link target shows at once')
})

t.test('without inotify (not Linux) every listing is read afresh', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  const lister = new Lister(root, 'inside', false, false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  const read = async (): Promise<string> => {
    const l = await lister.list(req, statSync(root))
    return 'body' in (l as object) ? (l as { body: Buffer }).body.toString() : ''
  }
  t.match(await read(), '"a.txt"')
  writeFileSync(path.join(root, 'b.txt'), 'b')
  t.match(await read(), '"b.txt"')
  t.equal(await lister.list({ ...req, dir: path.join(root, 'gone') }, statSync(root)), null)
  t.equal(await lister.list({ ...req, dir: path.join(root, 'a.txt') }, statSync(root)), null, 'a file is no folder')
})

t.test('a big folder that vanishes after its head went out ends the stream with an error', async (t) => {
  const root = t.testdir({})
  const lister = new Lister(root, 'inside', false)
  const big = Object.assign(Object.create(Object.getPrototypeOf(statSync(root))), statSync(root), { size: 1 << 30 })
  const req: ListRequest = { ...baseView, dir: path.join(root, 'gone'), dirPath: '/gone/', isTop: false, format: 'html' }
  const listing = await lister.list(req, big) as { stream: AsyncIterable<string> }
  const chunks: string[] = []
  await t.rejects(async () => { for await (const c of listing.stream) chunks.push(String(c)) }, { message: /folder vanished while listed/ })
  t.match(chunks[0], 'Directory listing for /gone/', 'the head went out first')
})

t.test('a folder that looks big streams its head first, and counts what it listed', async (t) => {
  // a dangling link is not listed, nor counted
  const root = t.testdir({ 'a.txt': 'a', 'b.txt': 'b', sub: {}, gone: t.fixture('symlink', 'nowhere') })
  const lister = new Lister(root, 'inside', false)
  const big = Object.assign(Object.create(Object.getPrototypeOf(statSync(root))), statSync(root), { size: 1 << 30 })
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  const listing = await lister.list(req, big) as { stream: AsyncIterable<string> }
  let text = ''
  for await (const c of listing.stream) text += String(c)
  t.match(JSON.parse(text), { path: '/', total: 3, offset: 0, limit: null, prev: null, next: null })
  t.same(JSON.parse(text).entries.map((e: { name: string }) => e.name), ['a.txt', 'b.txt', 'sub'])
})

t.test('a change queued while a kept listing is checked is seen before it is used', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  const lister = new Lister(root, 'inside', false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  await lister.list(req, statSync(root))
  const kept = await lister.list(req, statSync(root))
  // same tick: the kernel has queued the event, the watcher has not run yet
  writeFileSync(path.join(root, 'a.txt'), 'longer')
  const fresh = await lister.list(req, statSync(root)) as { body: Buffer }
  t.not(fresh, kept)
  t.match(fresh.body.toString(), '"size":6')
})

t.test('close() drops every kept listing', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  const lister = new Lister(root, 'inside', false)
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  const first = await lister.list(req, statSync(root))
  t.equal(await lister.list(req, statSync(root)), first, 'kept: the very same listing')
  lister.close()
  t.not(await lister.list(req, statSync(root)), first, 'read afresh after close()')
  lister.close()
})

t.test('concurrent first listings: a request that found a kept listing is not turned away when another replaces it', async (t) => {
  const root = t.testdir(folder(2000))
  const lister = new Lister(root, 'inside', false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  const list = async (): Promise<unknown> => await lister.list(req, statSync(root))
  // eight first requests read the folder, each over several turns, and each keeps what it read; as
  // each one ends another request starts, finds a kept listing, and is checked while the rest end
  const read: unknown[] = []
  const followers = await Promise.all(Array.from({ length: 8 }, async () => {
    read.push(await list())
    return await list()
  }))
  for (const f of followers) t.ok(read.includes(f), 'served from a listing already read, not read again')
})

t.test('many folders: the oldest kept listing is dropped', async (t) => {
  const tree: Record<string, Record<string, string>> = {}
  for (let i = 0; i < 70; i++) tree[`d${i}`] = { 'x.txt': String(i) }
  const app = await setup(t, tree)
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 70; i++) {
      t.equal((await app.inject({ url: `/d${i}/`, headers: json })).json().entries[0].size, String(i).length)
    }
  }
})

t.test('a name that is not valid UTF-8 is left out: its U+FFFD reading would show its valid twin twice', async (t) => {
  const dir = t.testdir({ 'a\uFFFD.txt': 'the real one', 'b.txt': 'b' })
  // a\xff.txt: Node reads it as a\uFFFD.txt, a name that can be neither served nor told apart
  writeFileSync(Buffer.concat([Buffer.from(dir + '/a'), Buffer.from([0xff]), Buffer.from('.txt')]), 'invalid')
  const app = await serve(t, dir)
  const listing = await app.inject({ url: '/', headers: { accept: 'application/json' } })
  t.same(listing.json().entries.map((e: { name: string }) => e.name), ['a\uFFFD.txt', 'b.txt'])
  t.equal((await app.inject('/a%EF%BF%BD.txt')).body, 'the real one')
  const tar = zlib.gunzipSync((await app.inject('/?download=tar.gz')).rawPayload)
  t.equal(tar.toString('latin1').split('the real one').length, 2, 'the archive holds it once')
  t.notMatch(tar.toString('latin1'), 'invalid')
})

t.test('at most 64 folders are kept, each with one inotify watch; the least recently used goes, and its watch with it', async (t) => {
  /** Watches this process holds: one `inotify wd:` line each in its inotify descriptors' fdinfo. */
  const watches = (): number => readdirSync('/proc/self/fd').reduce((n, fd) => {
    try {
      return n + (readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm)?.length ?? 0)
    } catch {
      return n
    }
  }, 0)
  const tree: Record<string, Record<string, string>> = {}
  for (let i = 0; i < 70; i++) tree[`d${i}`] = { 'a.txt': 'a' }
  const root = t.testdir(tree)
  const lister = new Lister(root, 'inside', false)
  const before = watches()
  const list = async (i: number): Promise<unknown> => {
    const dir = path.join(root, `d${i}`)
    return await lister.list({ ...baseView, dir, dirPath: `/d${i}/`, isTop: false, format: 'json' }, statSync(dir))
  }
  const first = await list(0)
  t.equal(await list(0), first, 'd0 kept')
  const d1 = await list(1)
  for (let i = 2; i < 64; i++) await list(i)
  t.equal(watches() - before, 64, 'a watch per folder kept')
  t.equal(await list(0), first, 'd0 used again: the most recently used')
  for (let i = 64; i < 70; i++) await list(i)
  t.equal(watches() - before, 64, 'never more than 64')
  t.equal(await list(0), first, 'd0 still kept: d1 to d6 went first')
  t.not(await list(1), d1, 'd1 went: listed afresh')
  lister.close()
  t.equal(watches(), before, 'closed: every watch gone')
})

t.test('a kept listing that every entry\'s stat still matches stays kept', async (t) => {
  const root = t.testdir({ d: { 'a.txt': 'a', 'b.txt': 'bb', sub: {} } })
  const dir = path.join(root, 'd')
  // every entry stat'ed again on every hit, not once a second: each hit below is a full recheck
  const lister = new Lister(root, 'inside', false, true, 0)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir, dirPath: '/d/', isTop: false, format: 'json' }
  await lister.list(req, statSync(dir))
  const kept = await lister.list(req, statSync(dir))
  t.equal(await lister.list(req, statSync(dir)), kept, 'rechecked, unchanged: the same listing')
  t.equal(await lister.list(req, statSync(dir)), kept, 'and again')
})

t.test('a kept listing outlives a change its watch cannot see (a hard link or a bind mount added later) by a second at most', async (t) => {
  const root = t.testdir({ hl: { 'f.txt': 'one', 'm.txt': 'mounted over' }, elsewhere: { 'm.txt': 'x' } })
  const dir = path.join(root, 'hl')
  const lister = new Lister(root, 'inside', false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir, dirPath: '/hl/', isTop: false, format: 'json' }
  const sizes = async (): Promise<Record<string, number>> => {
    const l = await lister.list(req, statSync(dir)) as { body: Buffer }
    return Object.fromEntries(JSON.parse(l.body.toString()).entries.map((e: { name: string, size: number }) => [e.name, e.size]))
  }
  await sizes()
  const kept = await lister.list(req, statSync(dir))
  t.equal(await lister.list(req, statSync(dir)), kept, 'kept')
  // a second name made in another folder, and a write through it: no event reaches hl/'s watch
  linkSync(path.join(dir, 'f.txt'), path.join(root, 'elsewhere', 'g.txt'))
  t.equal((await sizes())['f.txt'], 3)
  appendFileSync(path.join(root, 'elsewhere', 'g.txt'), ' and more')
  // every entry is stat'ed again once a second: polled (bounded), not slept
  await waitFor('the new size, not the kept one', async () => (await sizes())['f.txt'] === 12)
  appendFileSync(path.join(root, 'elsewhere', 'g.txt'), '!')
  await waitFor('and again once kept with the link in place', async () => (await sizes())['f.txt'] === 13)
  t.pass('both writes through the other link showed')

  // a file mounted over an entry, written through its source: root only, where mounting is allowed
  const source = path.join(root, 'elsewhere', 'm.txt')
  if (spawnSync('mount', ['--bind', source, path.join(dir, 'm.txt')]).status !== 0) return
  try {
    await waitFor('the mounted file to show', async () => (await sizes())['m.txt'] === 1)
    appendFileSync(source, 'yz')
    await waitFor('a write through the mount source to show', async () => (await sizes())['m.txt'] === 3)
    t.pass('a write through the mount source shows')
  } finally {
    spawnSync('umount', [path.join(dir, 'm.txt')])
  }
})
