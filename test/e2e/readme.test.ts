// The README's listing and archive examples, run as written (curl in a shell) against the app
// serving examples/site, as the README starts it; what they print is what the README shows.
import t, { type Test } from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { AddressInfo } from 'node:net'
import { PATIENCE, ProjectRoot, build } from '../helper'

const sh = promisify(execFile)
const README = readFileSync(path.join(ProjectRoot, 'README.md'), 'utf8')
const SITE = path.join(ProjectRoot, 'examples', 'site')

/** The README's fenced blocks of one language, in order. */
function blocks (lang: string): string[] {
  return [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])
}

/** The block that starts the server with `start`, and the curl lines after it. */
function example (start: string): string[] {
  const block = blocks('sh').find((b) => b.startsWith(start))
  if (block === undefined) throw new Error(`no sh block starting with ${start}`)
  return block.split('\n').filter((l) => l.startsWith('curl '))
}

async function serving (t: Test): Promise<string> {
  const app = await build(t, ['--root', SITE])
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

/** Runs a README line in a shell in `cwd`, against `base` instead of the port it names. */
async function run (line: string, base: string, cwd: string): Promise<string> {
  const command = line.replace(/http:\/\/127\.0\.0\.1:(3000|8000)/g, base).replace(/\s+#.*$/, '')
  return (await sh('sh', ['-c', command], { cwd, timeout: PATIENCE, encoding: 'utf8' })).stdout
}

t.test('the listing formats, as the README shows them', async (t) => {
  const lines = example('npm start -- -- --root examples/site ')
  t.equal(lines.length, 4)
  const base = await serving(t)
  const cwd = t.testdir({})
  const [html, text, sorted, json] = await Promise.all(lines.map(async (l) => await run(l, base, cwd)))
  t.match(html, /^<!DOCTYPE html>/i)
  t.match(html, 'href="read%20me.txt"')
  t.equal(text, blocks('text').find((b) => b.startsWith('guide/')), 'the text block')
  t.equal(sorted, 'read me.txt\nguide/\n', 'by size, largest first: folders count as smallest')
  const shown = JSON.parse(blocks('json').find((b) => b.includes('"path": "/docs/"')) as string)
  const got = JSON.parse(json)
  t.match(got.entries, [{ mtime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }])
  got.entries[0].mtime = shown.entries[0].mtime
  t.same(got, shown, 'the JSON block, but for mtime')
})

t.test('the folder downloads, as the README shows them', async (t) => {
  const lines = example('serve-dir -d examples/site ')
  t.equal(lines.length, 2)
  const base = await serving(t)
  const cwd = t.testdir({})
  for (const line of lines) await run(line, base, cwd)
  const file = readFileSync(path.join(SITE, 'docs', 'read me.txt'), 'utf8')
  t.equal(readFileSync(path.join(cwd, 'read me.txt'), 'utf8'), file, 'tar -xz unpacked the folder\'s files here')
  t.ok(readFileSync(path.join(cwd, 'guide', 'start.md')).length > 0, 'and its sub-folder')
  const zip = readFileSync(path.join(cwd, 'docs.zip'))
  t.equal(zip.readUInt32LE(0), 0x04034b50, 'curl -OJ saved docs.zip, a zip')
})

t.test('the uploads, as the README shows them', async (t) => {
  const lines = example('serve-dir --upload /inbox -d shared ')
  t.equal(lines.length, 2)
  const shared = t.testdir({ inbox: {} })
  const app = await build(t, ['--root', shared, '--upload', '/inbox'])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const cwd = t.testdir({ 'notes.txt': 'notes\n', 'a.txt': 'a', 'b.txt': 'b' })
  const said = await run(lines[0], base, cwd)
  t.equal(said, (/# (Created .*)$/.exec(lines[0]) as RegExpExecArray)[1] + '\n', 'what curl -T prints')
  t.equal(await run(lines[1], base, cwd), '', 'the form: a 303 with no body')
  for (const name of ['notes.txt', 'a.txt', 'b.txt']) {
    t.equal(readFileSync(path.join(shared, 'inbox', name), 'utf8'), readFileSync(path.join(cwd, name), 'utf8'), name)
  }
})
