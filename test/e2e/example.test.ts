import t from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { PATIENCE, ProjectRoot, built, startServing } from '../helper'
import { HELP } from '../../lib/cli-args'

const EXAMPLE = path.join(ProjectRoot, 'examples', 'server.ts')

t.test('examples/server.ts, the tutorial\'s server.py, built and run as the README runs it', async (t) => {
  const cwd = t.testdir({ 'index.html': '<h1>NewbyCoder.com</h1>' })
  // Fastify's logger writes "Server listening" to stdout first; the banner line comes after it.
  const banner = /serving at port (\d+)\n/
  const s = await startServing(t, process.execPath, [built('examples', 'server.js')], { cwd, env: { ...process.env, PORT: '0' } }, PATIENCE, banner)
  const port = banner.exec(s.stdout())?.[1]
  t.ok(port, 'prints "serving at port N" like the tutorial')
  t.equal(await (await fetch(`http://127.0.0.1:${port as string}/`)).text(), '<h1>NewbyCoder.com</h1>', 'serves its working directory')
  t.match(readFileSync(path.join(ProjectRoot, 'README.md'), 'utf8'), 'PORT=8080 node dist/examples/server.js')
})

t.test('the README shows examples/server.ts as it is', async (t) => {
  const readme = readFileSync(path.join(ProjectRoot, 'README.md'), 'utf8')
  t.ok(readme.includes(readFileSync(EXAMPLE, 'utf8')), 'README.md contains examples/server.ts verbatim')
})

t.test('the README shows serve-dir --help as it is', async (t) => {
  const readme = readFileSync(path.join(ProjectRoot, 'README.md'), 'utf8')
  t.ok(readme.includes('```\n' + HELP + '```'), 'README.md contains the --help text verbatim')
})
