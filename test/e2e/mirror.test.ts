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
