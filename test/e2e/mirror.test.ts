// Mirroring a served tree with a real crawler: `wget -r` takes every file and each folder's
// listing once, and none of the sorted copies or folder archives a listing offers.
import t from 'tap'
import path from 'node:path'
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { PATIENCE, build } from '../helper'

const hasWget = spawnSync('wget', ['--version']).status === 0

function files (dir: string, rel = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? files(path.join(dir, e.name), `${rel}${e.name}/`) : [`${rel}${e.name}`])
}

t.test('wget -r fetches the files and the listings, no sorted copy and no archive', { skip: !hasWget && 'no wget' }, async (t) => {
  const dir = t.testdir({ www: { 'a.txt': 'a', sub: { 'b.txt': 'b', deeper: { 'c.txt': 'c' } } }, out: {} })
  const app = await build(t, ['--root', path.join(dir, 'www')])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  await promisify(execFile)('wget', ['-q', '-r', '-np', '-nH', '-P', path.join(dir, 'out'), `http://127.0.0.1:${port}/`], { timeout: PATIENCE })
  const got = files(path.join(dir, 'out')).filter((f) => !f.startsWith('.serve-dir/')).sort()
  t.same(got, ['a.txt', 'index.html', 'sub/b.txt', 'sub/deeper/c.txt', 'sub/deeper/index.html', 'sub/index.html'])
  t.equal(readFileSync(path.join(dir, 'out', 'sub', 'deeper', 'c.txt'), 'utf8'), 'c')
  t.same(files(path.join(dir, 'out', '.serve-dir')).length, 2, 'and the listing\'s stylesheet and script')
})

const hasLftp = spawnSync('lftp', ['--version']).status === 0

t.test('lftp mirror takes every file, whatever its name holds', { skip: !hasLftp && 'no lftp' }, async (t) => {
  // lftp reads an href as it is written, HTML entities and all: quote'.txt must be linked as quote%27.txt
  const names = ["quote'.txt", 'a (1)!*.txt', 'sp ace & amp.txt', 'ü.txt']
  const tree = Object.fromEntries(names.map((n) => [n, n]))
  const dir = t.testdir({ www: { ...tree, sub: { ...tree } }, out: {} })
  const app = await build(t, ['--root', path.join(dir, 'www')])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const out = path.join(dir, 'out')
  // set cmd:fail-exit so that a file it could not fetch is an exit status, not a warning
  await promisify(execFile)('lftp', ['-c', `set cmd:fail-exit yes; set net:max-retries 1; set net:timeout ${PATIENCE / 1000}; mirror http://127.0.0.1:${port}/ ${out}`], { timeout: PATIENCE })
  const want = [...names, ...names.map((n) => `sub/${n}`)].sort()
  t.same(files(out).filter((f) => !f.startsWith('.serve-dir/')).sort(), want)
  t.same(files(path.join(out, '.serve-dir')).length, 2, 'and the listing\'s stylesheet and script, from the folder that lists them')
  for (const f of want) t.equal(readFileSync(path.join(out, f), 'utf8'), path.basename(f), f)
})
