// Nothing an uploader adds changes what another name answers: a precompressed sidecar
// (`name.br`, `name.gz`) is served in place of `name` itself, so anyone who may upload next to a
// file could replace it for every browser. Sidecars are never used in a folder an upload can write.
import t from 'tap'
import path from 'node:path'
import zlib from 'node:zlib'
import { symlinkSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { ServeDirOptions } from '../../lib/serve-dir'
import { serve } from '../helper'

const REPORT = '%PDF-1.7 the genuine report'
const PAGE = '<!doctype html><title>front</title><p>the site\'s own front page</p>'

/** A GET asking for either coding, as every browser does. */
async function get (app: FastifyInstance, url: string): Promise<{ status: number, type: string, coding: string, body: string }> {
  const res = await app.inject({ url, headers: { 'accept-encoding': 'br, gzip' } })
  const coding = String(res.headers['content-encoding'] ?? '')
  const body = coding === 'br'
    ? zlib.brotliDecompressSync(res.rawPayload)
    : coding === 'gzip' ? zlib.gunzipSync(res.rawPayload) : res.rawPayload
  return { status: res.statusCode, type: String(res.headers['content-type']), coding, body: body.toString() }
}

async function put (app: FastifyInstance, url: string, body: Buffer): Promise<number> {
  return (await app.inject({ method: 'PUT', url, body, headers: { 'content-type': 'application/octet-stream' } })).statusCode
}

t.test('an uploaded sidecar never stands for the file beside it, uploaded before or after it', async (t) => {
  const root = t.testdir({ inbox: { 'report.pdf': REPORT }, site: { 'report.pdf': REPORT } })
  const app = await serve(t, root, { uploads: { paths: ['/inbox'] } })
  t.equal(await put(app, '/inbox/report.pdf', Buffer.from('forged')), 409, 'the file itself may not be replaced')
  t.equal(await put(app, '/inbox/report.pdf.gz', zlib.gzipSync('forged')), 201, 'a .gz is an ordinary upload')
  t.equal(await put(app, '/inbox/report.pdf.br', zlib.brotliCompressSync('forged')), 201)
  for (const url of ['/inbox/report.pdf', '/inbox/report.pdf?x']) {
    const res = await get(app, url)
    t.same([res.status, res.body], [200, REPORT], `${url}: the genuine bytes`)
    t.equal(res.type, 'application/pdf')
  }
  t.equal((await get(app, '/inbox/report.pdf.gz')).body, zlib.gzipSync('forged').toString(), 'the upload answers its own name')
  // a sidecar first, its file after: the order changes nothing
  t.equal(await put(app, '/inbox/later.txt.br', zlib.brotliCompressSync('forged later')), 201)
  t.equal(await put(app, '/inbox/later.txt', Buffer.from('the later file')), 201)
  t.equal((await get(app, '/inbox/later.txt')).body, 'the later file')
})

t.test('with the whole root an upload path, an uploaded index.html.br never replaces the front page', async (t) => {
  const root = t.testdir({ 'index.html': PAGE })
  for (const opts of [{}, { liveReload: true }] as Array<Partial<ServeDirOptions>>) {
    const app = await serve(t, root, { uploads: true, ...opts })
    const name = `/index.html.${opts.liveReload === true ? 'gz' : 'br'}`
    const forged = opts.liveReload === true ? zlib.gzipSync('<p>forged</p>') : zlib.brotliCompressSync('<p>forged</p>')
    t.equal(await put(app, name, forged), 201)
    for (const url of ['/', '/index.html']) {
      const res = await get(app, url)
      t.equal(res.status, 200)
      t.match(res.body, PAGE, `${url}${opts.liveReload === true ? ' with live reload' : ''}: the site's own page`)
      t.notMatch(res.body, 'forged')
    }
  }
})

t.test('a folder reached through a link into an upload path is an upload folder too; one out of it is not', async (t) => {
  const gz = { 'b.txt': 'plain b', 'b.txt.gz': zlib.gzipSync('compressed b') }
  const dir = t.testdir({
    www: { inbox: { 'a.txt': 'genuine', 'a.txt.gz': zlib.gzipSync('forged') }, own: { ...gz } },
    outside: { ...gz }
  })
  const root = path.join(dir, 'www')
  symlinkSync('inbox', path.join(root, 'alias'))
  symlinkSync('../own', path.join(root, 'inbox', 'out'))
  symlinkSync('../../outside', path.join(root, 'inbox', 'far'))
  for (const symlinks of ['inside', 'follow'] as const) {
    const app = await serve(t, root, { uploads: { paths: ['/inbox'] }, symlinks })
    t.equal((await get(app, '/alias/a.txt')).body, 'genuine', `${symlinks}: the link's target is written by uploads`)
    const res = await get(app, '/inbox/out/b.txt')
    t.same([res.coding, res.body], ['gzip', 'compressed b'], `${symlinks}: no upload writes through a link: its sidecar holds`)
    t.equal((await get(app, '/own/b.txt')).coding, 'gzip', 'sidecars outside upload paths are served')
  }
  const app = await serve(t, root, { uploads: { paths: ['/inbox'] }, symlinks: 'follow' })
  t.same(await get(app, '/inbox/far/b.txt'), { status: 200, type: 'text/plain; charset=utf-8', coding: 'gzip', body: 'compressed b' },
    'follow: a folder outside the root is no upload\'s')
})

t.test('upload paths are compared without case: a folder a case-blind disk lets uploads write is one', async (t) => {
  const root = t.testdir({ Inbox: { 'a.txt': 'genuine', 'a.txt.gz': zlib.gzipSync('forged') } })
  const app = await serve(t, root, { uploads: { paths: ['/inbox'] } })
  t.equal((await get(app, '/Inbox/a.txt')).body, 'genuine')
})
