// The built app as `npm start` runs it: dist/app.js under `fastify start`, no test loader, no coverage.
import t from 'tap'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { ProjectRoot, exitOf, freePort, waitFor } from '../helper'

const pkg = JSON.parse(readFileSync(path.join(ProjectRoot, 'package.json'), 'utf8'))

t.test('npm start: fastify start dist/app.js serves --root on 127.0.0.1 with JSON logs', async (t) => {
  // npm start = build, then this command; npm appends what follows `npm start --`
  const script = (pkg.scripts.start as string).replace(/^npm run build:ts && /, '')
  t.match(script, /^FASTIFY_ADDRESS=\S+ fastify start /, 'only the build precedes the server')
  const root = t.testdir({ 'index.html': 'smoke page' })
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.join(ProjectRoot, 'node_modules', '.bin')}:${process.env.PATH}`, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  delete env.FASTIFY_ADDRESS
  const child = spawn('sh', ['-c', `${script} -p ${port} -- --root '${root}'`], { cwd: ProjectRoot, env, detached: true })
  t.teardown(() => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d: string) => { out += d })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const deadline = Date.now() + 20000
  while (!out.includes('Server listening') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const listening = out.split('\n').filter((l) => l.includes('Server listening'))
  t.same(listening.map((l) => JSON.parse(l).msg), [`Server listening at http://127.0.0.1:${port}`], 'loopback only by default')

  const page = await fetch(`http://127.0.0.1:${port}/`)
  t.equal(await page.text(), 'smoke page')
  const health = await fetch(`http://127.0.0.1:${port}/.serve-dir/health`)
  t.same(await health.json(), { status: 'ok' })
  await waitFor('the request line', () => out.includes('"request completed"'))
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  t.match(lines.find((l) => l.msg === 'request completed'), { method: 'GET', url: '/', statusCode: 200 })
  t.match(lines.find((l) => l.msg === 'serving folder'), { root })

  process.kill(-(child.pid as number), 'SIGTERM')
  const timer = setTimeout(() => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} }, 10000)
  await once(child, 'exit')
  clearTimeout(timer)
})

t.test('npm start -- --root DIR (one --): refused with a hint, not another folder served', async (t) => {
  const script = (pkg.scripts.start as string).replace(/^npm run build:ts && /, '')
  const root = t.testdir({ 'index.html': 'never served' })
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.join(ProjectRoot, 'node_modules', '.bin')}:${process.env.PATH}`, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  const child = spawn('sh', ['-c', `${script} -p ${await freePort()} --root '${root}'`], { cwd: ProjectRoot, env, detached: true })
  t.teardown(() => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
  t.equal(await exitOf(child, 20000), 1, 'exits 1')
  t.match(out, 'FST_SERVE_DIR_INVALID_OPTION')
  t.match(out, 'npm start -- -- --root DIR')
  t.notMatch(out, 'Server listening')
})
