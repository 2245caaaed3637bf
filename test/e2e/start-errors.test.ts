// npm start's failed starts: fastify-cli's `fastify start` with lib/fastify-cli-start.js preloaded,
// as the start script runs it, says a mistake the user can fix in one line and exits 1.
import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { execFile } from 'node:child_process'
import { PATIENCE, ProjectRoot, built, freePort } from '../helper'

const script: string = JSON.parse(readFileSync(path.join(ProjectRoot, 'package.json'), 'utf8')).scripts.start
const PRELOAD = './dist/lib/fastify-cli-start.js'
const CLI = path.join(ProjectRoot, 'node_modules', 'fastify-cli', 'cli.js')

interface Exit { code: number | null, stdout: string, stderr: string }

/** `fastify start -r <preload> -l info ARGS` in the project folder, as npm start runs it. */
async function start (args: string[]): Promise<Exit> {
  return await new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.FASTIFY_ADDRESS
    execFile(process.execPath, [CLI, 'start', '-r', PRELOAD, '-l', 'info', ...args], { cwd: ProjectRoot, env, timeout: PATIENCE }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code: number }).code, stdout, stderr })
    })
  })
}

t.test('the start script preloads the one-line errors', async (t) => {
  t.match(script, `exec fastify start -r ${PRELOAD} `)
  built('lib', 'fastify-cli-start.js')
})

t.test('what a user can fix is one line on stderr and exit 1', async (t) => {
  const busy = net.createServer()
  busy.listen(0, '127.0.0.1')
  await once(busy, 'listening')
  t.teardown(() => { busy.close() })
  const port = String((busy.address() as net.AddressInfo).port)
  const missing = path.join(t.testdir(), 'missing')
  const free = String(await freePort())
  const cases: Array<[string, string[], string]> = [
    ['a root that does not exist', ['-p', free, 'dist/app.js', '--', '--root', missing], `Invalid serve-dir root "${missing}": no such directory`],
    ['--root after one -- only', ['-p', free, 'dist/app.js', '--root', missing], 'Invalid serve-dir option "root": it reached fastify-cli, not the app; write `npm start -- -- --root DIR` (two --)'],
    ['a busy port', ['-a', '127.0.0.1', '-p', port, 'dist/app.js'], `port ${port} on 127.0.0.1 is already in use`],
    ['an address this machine does not have', ['-a', '192.0.2.123', '-p', free, 'dist/app.js'], 'cannot bind to 192.0.2.123: no such address on this machine'],
    ['a name that does not resolve', ['-a', 'no-such-host.invalid', '-p', free, 'dist/app.js'], 'cannot bind to no-such-host.invalid: no such address on this machine']
  ]
  const exits = await Promise.all(cases.map(async ([, args]) => await start(args)))
  cases.forEach(([what, , line], i) => {
    t.same(exits[i], { code: 1, stdout: '', stderr: `serve-dir: error: ${line}\n` }, what)
  })
})

t.test('any other failure keeps fastify-cli\'s whole report', async (t) => {
  const exit = await start(['-a', '127.0.0.1', '-p', '70000', 'dist/app.js'])
  t.equal(exit.code, 1)
  t.notMatch(exit.stderr, 'serve-dir: error:')
  const logged = JSON.parse(exit.stdout.split('\n').find((l) => l.includes('"level":50')) ?? '{}')
  t.match(logged, { err: { code: 'ERR_SOCKET_BAD_PORT', stack: /RangeError/ } }, 'close-with-grace\'s error line, stack and all')
})
