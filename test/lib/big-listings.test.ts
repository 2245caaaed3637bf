import t from 'tap'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync, utimesSync, type Stats } from 'node:fs'
import type { Readable } from 'node:stream'
import { Lister, STREAM_ABOVE, type ListRequest } from '../../lib/serve-dir/listing/lister'
import { ClientGoneError } from '../../lib/serve-dir/errors'
import { sortView, type Entry } from '../../lib/serve-dir/listing/render'

// Folders too big to keep: listed from a table of stats, a few at once, and only while the client waits.
const baseView: Omit<ListRequest, 'dir' | 'dirPath' | 'isTop' | 'format'> = { crumbs: [], assets: '', sort: 'name', order: 'asc', q: '', limit: null, offset: 0, dirsFirst: false }

/** A stat that says the folder is big (its own size), so its listing takes a turn before it is read. */
function bigStat (dir: string): Stats {
  return Object.assign(Object.create(Object.getPrototypeOf(statSync(dir))), statSync(dir), { size: 1 << 30 })
}

t.test('big listings take turns: four at once, until each is sent, the rest wait or are refused', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', 'b.txt': 'bb' })
  const lister = new Lister(root, 'inside', false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir: root, dirPath: '/', isTop: true, format: 'json' }
  const first = await Promise.all(Array.from({ length: 4 }, async () => await lister.list(req, bigStat(root)) as { stream: Readable }))
  const waiting = Array.from({ length: 32 }, async () => await lister.list(req, bigStat(root)) as { stream: Readable })
  await t.rejects(lister.list(req, bigStat(root)), { code: 'FST_SERVE_DIR_TOO_BUSY' }, 'four at work, 32 waiting: the next is refused')
  // one sent whole gives its turn to the first in line
  let text = ''
  for await (const chunk of first[0].stream) text += String(chunk)
  t.same(JSON.parse(text).entries.map((e: { name: string }) => e.name), ['a.txt', 'b.txt'])
  const next = await waiting[0]
  // one destroyed unread (a client gone, a HEAD) gives its turn too
  first[1].stream.destroy()
  const after = await waiting[1]
  for (const l of [...first.slice(2), next, after]) l.stream.destroy()
  for (const w of waiting.slice(2)) (await w).stream.destroy()
  const gone = new AbortController()
  gone.abort(new ClientGoneError())
  await t.rejects(lister.list(req, bigStat(root), gone.signal), { code: 'FST_SERVE_DIR_CLIENT_GONE' }, 'a client gone before it began gets no turn')
})

t.test('the work on a big folder stops when its client goes', async (t) => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 6000; i++) files[`f${i}.txt`] = ''
  const root = t.testdir({ many: files })
  const dir = path.join(root, 'many')
  const lister = new Lister(root, 'inside', false)
  t.teardown(() => lister.close())
  const req: ListRequest = { ...baseView, dir, dirPath: '/many/', isTop: false, format: 'json', sort: 'size' }
  const client = new AbortController()
  const listing = lister.list(req, statSync(dir), client.signal)
  client.abort(new ClientGoneError())
  await t.rejects(listing, { code: 'FST_SERVE_DIR_CLIENT_GONE' })
  const paged = lister.list({ ...req, sort: 'name', limit: 5500 }, statSync(dir), client.signal)
  await t.rejects(paged, { code: 'FST_SERVE_DIR_CLIENT_GONE' }, 'and a page of it too')
})

t.test('a big folder sorted by size or date is listed as sortView orders its entries', async (t) => {
  const files: Record<string, string | Record<string, string>> = {}
  for (let i = 0; i < STREAM_ABOVE + 20; i++) files[`f${String(i).padStart(5, '0')}.txt`] = 'x'.repeat(i % 7)
  for (let i = 0; i < 9; i++) files[`d${i}`] = {}
  // and two names that cannot be listed: a dangling link and a FIFO
  const dir = t.testdir({ ...files, gone: t.fixture('symlink', 'nowhere') })
  execFileSync('mkfifo', [path.join(dir, 'pipe')])
  for (let i = 0; i < 40; i++) utimesSync(path.join(dir, `f${String(i * 11).padStart(5, '0')}.txt`), 1e9 + i, 1e9 + (i % 5) * 1000)
  const lister = new Lister(dir, 'inside', false)
  t.teardown(() => lister.close())
  const entries: Entry[] = readdirSync(dir).filter((n) => n !== 'gone' && n !== 'pipe').map((name) => {
    const s = statSync(path.join(dir, name))
    return s.isDirectory() ? { name, type: 'directory', size: null, mtime: s.mtime } : { name, type: 'file', size: s.size, mtime: s.mtime }
  })
  const json = async (view: Partial<ListRequest>): Promise<{ entries: Array<{ name: string }>, total: number }> => {
    const listing = await lister.list({ ...baseView, dir, dirPath: '/', isTop: true, format: 'json', ...view }, statSync(dir))
    let text = ''
    if (listing !== null && 'stream' in listing) for await (const c of listing.stream) text += String(c)
    else text = (listing as { body: Buffer }).body.toString()
    return JSON.parse(text)
  }
  for (const [sort, order, dirsFirst] of [['size', 'asc', false], ['size', 'desc', true], ['mtime', 'asc', true], ['mtime', 'desc', false]] as const) {
    const want = sortView(entries, sort, order, dirsFirst).map((e) => e.name)
    const got = await json({ sort, order, dirsFirst })
    // compared as one string: a deep comparison of 5,000 names costs tap seconds
    t.equal(got.entries.map((e) => e.name).join('\n'), want.join('\n'), `sort=${sort} order=${order} dirsFirst=${String(dirsFirst)}`)
    t.equal(got.total, entries.length)
    const page = await json({ sort, order, dirsFirst, q: '1', limit: 50, offset: 100 })
    t.same(page.entries.map((e) => e.name), want.filter((n) => n.includes('1')).slice(100, 150), 'a filtered page of it')
  }
})
