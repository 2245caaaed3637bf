// Bytes changed with no stat to tell: a write through a memory mapping sets the file's times on its
// first store to a clean page and none on the stores after, and one slow `write()` sets them when
// it starts; so a file can look unchanged for as long as its writer likes while its bytes change.
// No rule on the times (git's "racily clean" window) can tell when bytes are final: the server
// never keeps a file's bytes, and what it makes of them (a compressed form) is kept for those very
// bytes only.
import t, { type Test } from 'tap'
import path from 'node:path'
import zlib from 'node:zlib'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { statSync, writeFileSync, type Stats } from 'node:fs'
import Fastify from 'fastify'
import { serve, waitFor } from '../helper'
import { ClientSlots } from '../../lib/serve-dir/slots'

/** Longer than any window a rule on times could wait (git's is the index's own second; ours was 2 s). */
const WINDOW_MS = 2500

t.test('a file changed through a mapping long after its last time was set shows its new bytes', async (t) => {
  const root = t.testdir({ 'm.txt': 'a'.repeat(8192) })
  const file = path.join(root, 'm.txt')
  const app = await serve(t, root)
  // stores 8 bytes of each line read, at the start of the same page, then prints the line
  const writer = spawn('python3', ['-c', [
    'import mmap, sys',
    'f = open(sys.argv[1], "r+b"); m = mmap.mmap(f.fileno(), 0)',
    'for line in sys.stdin:',
    '    m[0:8] = line.strip().encode(); print(line.strip(), flush=True)'
  ].join('\n'), file], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { writer.kill() })
  const lines = writer.stdout.setEncoding('utf8')
  const store = async (bytes: string): Promise<void> => {
    writer.stdin.write(bytes + '\n')
    t.equal(String((await once(lines, 'data'))[0]).trim(), bytes)
  }
  const get = async (coding?: string): Promise<string> => {
    const res = await app.inject({ url: '/m.txt', headers: coding === undefined ? {} : { 'accept-encoding': coding } })
    t.equal(res.statusCode, 200)
    return (coding === 'gzip' ? zlib.gunzipSync(res.rawPayload) : res.rawPayload).toString().slice(0, 8)
  }

  await store('11111111')
  const version = statSync(file)
  // the file's times are now old enough for any rule on them to call its bytes final
  await waitFor('the file\'s times to age past any window', () =>
    Date.now() - Math.max(version.mtimeMs, version.ctimeMs) > WINDOW_MS)
  t.equal(await get(), '11111111')
  t.equal(await get('gzip'), '11111111')
  t.equal(await get(), '11111111', 'read twice, answered twice')
  await store('22222222')
  const after = statSync(file)
  t.same([after.mtimeMs, after.ctimeMs, after.size], [version.mtimeMs, version.ctimeMs, version.size],
    'the second store set no time: the version looks the same')
  t.equal(await get(), '22222222', 'the new bytes, not kept old ones')
  t.equal(await get('gzip'), '22222222', 'compressed from the new bytes, not a form kept of the old')
  const head = await app.inject({ method: 'HEAD', url: '/m.txt' })
  t.equal(head.headers['content-length'], '8192')
  writer.stdin.end()
})

type Responder = typeof import('../../lib/serve-dir/file/responder')
const http = require('../../lib/serve-dir/http') as typeof import('../../lib/serve-dir/http')
const options = { maxAge: 0, immutable: false, compress: true, precompressed: false, threshold: 1, cacheFileBytes: 1 << 20, downloadHtml: false }

/**
 * The responder with compressions counted, and held (in `held`) while `control.hold` is set; the
 * route answers `/name` with the stat `stats[name]` as it was when first asked (so that a rewrite
 * of the same size is the same version, as a mapping's store is).
 */
function counted (t: Test, root: string, limits: { cacheTotalBytes: number, cacheEntries: number }) {
  const made: string[] = []
  const control = { hold: false }
  const held: Array<() => void> = []
  const { FileResponder } = t.mockRequire<Responder>('../../lib/serve-dir/file/responder', {
    '../../lib/serve-dir/http': {
      ...http,
      compressBuffer: async (data: Buffer, coding: 'br' | 'gzip') => {
        made.push(data.toString().slice(0, 8))
        if (control.hold) await new Promise<void>((resolve) => held.push(resolve))
        if (data.toString().startsWith('fail')) throw new Error('the compressor failed')
        return await http.compressBuffer(data, coding)
      }
    }
  })
  const files = new FileResponder({ ...options, compressing: new ClientSlots(4, 4), ...limits }, () => null)
  const stats: Record<string, Stats> = {}
  const app = Fastify()
  app.get('/:name', async (req, reply) => {
    const file = path.join(root, (req.params as { name: string }).name)
    stats[file] ??= statSync(file)
    return await files.send(req, reply, file, stats[file])
  })
  const gz = async (name: string): Promise<string> =>
    zlib.gunzipSync((await app.inject({ url: '/' + name, headers: { 'accept-encoding': 'gzip' } })).rawPayload).toString()
  return { files, app, made, held, gz, control }
}

t.test('compressed forms are kept for the very bytes they were made from, and bounded', async (t) => {
  const tree: Record<string, string> = {}
  for (let i = 0; i < 6; i++) tree[`f${i}.txt`] = `${i}`.repeat(8) + ' the same words again '.repeat(50)
  const root = t.testdir(tree)
  const formBytes = zlib.gzipSync(tree['f0.txt']).length
  for (const [limits, kept] of [
    [{ cacheEntries: 10, cacheTotalBytes: 2 * formBytes + 2 }, 2],
    [{ cacheEntries: 3, cacheTotalBytes: 1 << 20 }, 3]
  ] as const) {
    const { app, files, made, gz } = counted(t, root, limits)
    await files.install(app)
    t.teardown(() => app.close())
    for (let i = 0; i < 6; i++) t.equal(await gz(`f${i}.txt`), tree[`f${i}.txt`])
    made.length = 0
    for (let i = 5; i >= 0; i--) t.equal(await gz(`f${i}.txt`), tree[`f${i}.txt`])
    t.same(made, [5, 4, 3, 2, 1, 0].slice(kept).map((i) => `${i}`.repeat(8)), `${JSON.stringify(limits)}: the last ${kept} are kept`)
  }
})

t.test('a form made of bytes that changed meanwhile, or of a version gone meanwhile, is not kept; nor is a failure', async (t) => {
  const root = t.testdir({ 'a.txt': 'aaaaaaaa', 'b.txt': 'bbbbbbbb' })
  const { app, files, made, held, gz, control } = counted(t, root, { cacheEntries: 1, cacheTotalBytes: 1 << 20 })
  control.hold = true
  await files.install(app)
  t.teardown(() => app.close())
  const release = async (n: number): Promise<void> => {
    await waitFor(`${n} compressions under way`, () => held.length === n)
    for (const go of held.splice(0)) go()
  }
  // a's bytes change (same size: the same version) while their form is made: two forms at once
  const first = gz('a.txt')
  await waitFor('the first compression', () => held.length === 1)
  writeFileSync(path.join(root, 'a.txt'), 'AAAAAAAA')
  const second = gz('a.txt')
  await release(2)
  t.same([await first, await second], ['aaaaaaaa', 'AAAAAAAA'])
  made.length = 0
  control.hold = false
  t.equal(await gz('a.txt'), 'AAAAAAAA')
  t.same(made, [], 'the form of the bytes as they are now is the one kept')
  control.hold = true
  // b's form is made while a request for a pushes b's version out (one entry), and a's form anew
  const b = gz('b.txt')
  await waitFor('b\'s compression', () => held.length === 1)
  const a = gz('a.txt')
  await release(2)
  t.same([await b, await a], ['bbbbbbbb', 'AAAAAAAA'])
  made.length = 0
  control.hold = false
  t.equal(await gz('b.txt'), 'bbbbbbbb')
  t.same(made, ['bbbbbbbb'], 'b\'s form was not kept')
  // a compressor that fails: a 500, and the failure is not remembered
  writeFileSync(path.join(root, 'a.txt'), 'failfail')
  for (let i = 0; i < 2; i++) {
    t.equal((await app.inject({ url: '/a.txt', headers: { 'accept-encoding': 'gzip' } })).statusCode, 500)
  }
  t.same(made.slice(1), ['failfail', 'failfail'], 'tried again')
})
