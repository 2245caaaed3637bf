// The built app as `npm start` runs it: dist/app.js under `fastify start`, no test loader, no coverage.
import t from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { ProjectRoot, accepts, exitOf, freePort, spawnReaped, startServing, waitFor } from '../helper'

const pkg = JSON.parse(readFileSync(path.join(ProjectRoot, 'package.json'), 'utf8'))

/** The environment npm gives the script: its bin folder on PATH, no test loader, no coverage. */
function startEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.join(ProjectRoot, 'node_modules', '.bin')}:${process.env.PATH}`, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  delete env.FASTIFY_ADDRESS
  return env
}

/** npm start's script as npm runs it: `sh -c '<script> <what follows npm start -->'`. */
const script = pkg.scripts.start as string

t.test('npm start: fastify start dist/app.js serves --root on 127.0.0.1 with JSON logs; SIGTERM stops it', async (t) => {
  t.match(script, /^node scripts\/build-if-stale\.mjs && .* exec fastify start .* dist\/app\.js$/, 'a build only if stale, then the server in the script\'s own process')
  const root = t.testdir({ 'index.html': 'smoke page' })
  const port = await freePort()
  const env = startEnv()
  // fastify-cli logs before it listens: wait for the whole 'Server listening' line (or an exit)
  const { child, stdout, stderr } = await startServing(t, 'sh', ['-c', `${script} -p ${port} -- --root '${root}'`], { cwd: ProjectRoot, env }, undefined, /Server listening[^\n]*\n/)
  const out = (): string => stdout() + stderr()
  const listening = stdout().split('\n').filter((l) => l.includes('Server listening'))
  t.same(listening.map((l) => JSON.parse(l).msg), [`Server listening at http://127.0.0.1:${port}`], `loopback only by default; output: ${out()}`)

  const page = await fetch(`http://127.0.0.1:${port}/`)
  t.equal(await page.text(), 'smoke page')
  const health = await fetch(`http://127.0.0.1:${port}/.serve-dir/health`)
  t.same(await health.json(), { status: 'ok' })
  await waitFor('the request line', () => /"request completed"[^\n]*\n/.test(stdout()))
  // whole lines only: the last one may still be on its way
  const lines = stdout().slice(0, stdout().lastIndexOf('\n')).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  t.match(lines.find((l) => l.msg === 'request completed'), { method: 'GET', url: '/', statusCode: 200 })
  t.match(lines.find((l) => l.msg === 'serving folder'), { root })

  // npm passes SIGTERM to the script's process only, not its group: the server must be that process
  process.kill(child.pid as number, 'SIGTERM')
  t.equal(await exitOf(child), 0, 'the server itself exits')
  t.notOk(await accepts(port), 'nothing left listening')
})

t.test('npm start on a terminal: pretty logs; off one: JSON', { skip: spawnSync('script', ['--version']).status !== 0 && 'no script(1)' }, async (t) => {
  const root = t.testdir({ 'index.html': 'tty page' })
  const port = await freePort()
  // script(1) gives the command a terminal, as a person typing npm start has
  const child = spawnReaped(t, 'script', ['-qec', `${script} -p ${port} -- --root '${root}'`, '/dev/null'], { cwd: ProjectRoot, env: startEnv() })
  // the server runs in the terminal's own session, out of reach of the group kill: kill it by name
  t.teardown(() => { spawnSync('pkill', ['-KILL', '-P', String(child.pid)]) })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  await waitFor('the server to listen', () => out.includes('Server listening') || child.exitCode !== null)
  t.notMatch(out, /^\{"level"/m, 'no JSON lines')
  t.match(out, /INFO.*Server listening/, 'pino-pretty\'s lines')
  // Ctrl-C on that terminal, as a person stops it
  child.stdin.write('\x03')
  await exitOf(child)
  await waitFor('the server to be gone', async () => !(await accepts(port)))
  t.pass('Ctrl-C stops it')
})

t.test('npm start -- --root DIR (one --): refused with a hint, not another folder served', async (t) => {
  const root = t.testdir({ 'index.html': 'never served' })
  const child = spawnReaped(t, 'sh', ['-c', `${script} -p ${await freePort()} --root '${root}'`], { cwd: ProjectRoot, env: startEnv() })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
  t.equal(await exitOf(child), 1, 'exits 1')
  // 'exit' can come before the last of its output: wait for both streams to end
  await waitFor('the end of its output', () => child.stdout.readableEnded && child.stderr.readableEnded)
  t.equal(out, 'serve-dir: error: Invalid serve-dir option "root": it reached fastify-cli, not the app; write `npm start -- -- --root DIR` (two --)\n', 'one line, no stack')
})
