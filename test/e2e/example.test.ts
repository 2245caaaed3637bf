import t from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { ProjectRoot, startServing } from '../helper'
import { HELP } from '../../bin/serve-dir'

const EXAMPLE = path.join(ProjectRoot, 'examples', 'server.ts')

t.test('examples/server.ts, the tutorial\'s server.py, serves its working directory', async (t) => {
  const cwd = t.testdir({ 'index.html': '<h1>NewbyCoder.com</h1>' })
  // Fastify's logger writes "Server listening" to stdout first; the banner line comes after it.
  const banner = /serving at port (\d+)\n/
  const s = await startServing(t, process.execPath, [...process.execArgv, EXAMPLE], { cwd, env: { ...process.env, PORT: '0' } }, 15000, banner)
  const port = banner.exec(s.stdout())?.[1]
  t.ok(port, 'prints "serving at port N" like the tutorial')
  t.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), '<h1>NewbyCoder.com</h1>')
})

t.test('built, as the README runs it: node dist/examples/server.js', async (t) => {
  const cwd = t.testdir({ 'index.html': 'built example' })
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  const banner = /serving at port (\d+)\n/
  const s = await startServing(t, process.execPath, [path.join(ProjectRoot, 'dist', 'examples', 'server.js')], { cwd, env }, 15000, banner)
  t.equal(await (await fetch(`http://127.0.0.1:${banner.exec(s.stdout())?.[1] as string}/`)).text(), 'built example')
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
