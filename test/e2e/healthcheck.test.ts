// The Docker image's HEALTHCHECK: it finds serve-dir's command line and asks where that listens.
import t, { type Test } from 'tap'
import net from 'node:net'
import path from 'node:path'
import { once } from 'node:events'
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { start } from '../../lib/command'
import { findServer, healthUrl, healthy, serverArguments } from '../../lib/healthcheck'
import { PATIENCE, ProjectRoot, built, capture, exitOf, freePort, spawnReaped, startCommand } from '../helper'

const run = promisify(execFile)

/** The command in this process, serving `args`; closed when `t` ends. */
async function serving (t: Test, args: string[]): Promise<number> {
  const started = await start(args, { stdout: capture().stream, stderr: capture().stream })
  if (!('server' in started)) throw new Error(`exit ${started.status}`)
  t.teardown(() => started.server.close())
  return (started.server.server.address() as AddressInfo).port
}

t.test('serve-dir\'s arguments, from PID 1 or the process docker --init started', async (t) => {
  t.same(serverArguments('node\0dist/bin/serve-dir.js\0--bind\x000.0.0.0\x009000\0'), ['--bind', '0.0.0.0', '9000'])
  t.same(serverArguments('node\0/app/dist/bin/serve-dir.js\0'), [])
  t.equal(serverArguments('node\0dist/bin/healthcheck.js\0'), undefined)
  const proc = t.testdir({
    1: { cmdline: '/sbin/docker-init\0--\0node\0dist/bin/serve-dir.js\x009000\0' },
    7: { cmdline: 'node\0dist/bin/serve-dir.js\x009001\0' },
    self: { cmdline: 'not a pid' },
    12: {} // gone while the folder was read
  })
  t.same(findServer(proc), ['9000'], 'PID 1 first')
  t.same(findServer(proc, '7'), ['9001'], 'or the process asked for')
  const init = t.testdir({ 1: { cmdline: '/sbin/docker-init\0--\0node\0/usr/local/bin/server.js\0' }, 12: {}, 7: { cmdline: 'node\0dist/bin/serve-dir.js\x009002\0' } })
  t.same(findServer(init), ['9002'], 'else the first serve-dir found')
  t.equal(findServer(t.testdir({ 1: { cmdline: 'sh\0' } })), undefined)
})

t.test('the health URL follows the port, the address and TLS', async (t) => {
  const url = (args: string[]): string => healthUrl(args).href
  t.equal(url(['--bind', '0.0.0.0', '--directory', '/srv/www', '8000']), 'http://127.0.0.1:8000/.serve-dir/health')
  t.equal(url(['--bind', '0.0.0.0', '9000']), 'http://127.0.0.1:9000/.serve-dir/health', 'a port given to docker run')
  t.equal(url(['--bind', '::', '9000']), 'http://[::1]:9000/.serve-dir/health')
  t.equal(url(['-b', '::1']), 'http://[::1]:8000/.serve-dir/health')
  t.equal(url(['-b', '10.1.2.3', '8443', '--tls-cert', 'c.pem']), 'https://10.1.2.3:8443/.serve-dir/health')
  t.throws(() => healthUrl(['--help']), { message: 'serve-dir --help serves nothing' })
})

t.test('healthy: 200 from the server, nothing else', async (t) => {
  const port = await serving(t, ['0', '-d', t.testdir({})])
  t.equal(await healthy(new URL(`http://127.0.0.1:${port}/.serve-dir/health`), PATIENCE), true)
  t.equal(await healthy(new URL(`http://127.0.0.1:${port}/.serve-dir/nothing`), PATIENCE), false, 'a 404')
  t.equal(await healthy(new URL(`http://127.0.0.1:${await freePort()}/.serve-dir/health`), PATIENCE), false, 'nothing listening')
  // a server that accepts and never answers: the check gives up at its time limit
  const mute = net.createServer(() => {}).listen(0, '127.0.0.1')
  await once(mute, 'listening')
  t.teardown(() => { mute.close() })
  t.equal(await healthy(new URL(`http://127.0.0.1:${(mute.address() as AddressInfo).port}/.serve-dir/health`), 200), false, 'no answer in time')
})

t.test('healthy over HTTPS with the server\'s own certificate', async (t) => {
  const dir = t.testdir({})
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  const args = [String(await freePort()), '-d', dir, '--tls-cert', cert, '--tls-key', key]
  await serving(t, args)
  t.equal(await healthy(healthUrl(args), PATIENCE), true)
})

t.test('the built check: exit 0 for a healthy serve-dir, 1 otherwise; the image runs it', async (t) => {
  const port = await freePort()
  const s = await startCommand(t, [String(port), '-d', t.testdir({})])
  const check = async (pid: number): Promise<{ code: number, stderr: string }> =>
    await run(process.execPath, [built('bin', 'healthcheck.js'), String(pid)], { timeout: PATIENCE }).then(({ stderr }) => ({ code: 0, stderr }), (err: { code: number, stderr: string }) => err)
  t.match(await check(s.child.pid as number), { code: 0, stderr: '' })
  t.match(await check(process.pid), { code: 1, stderr: 'serve-dir healthcheck: no serve-dir process found\n' }, 'this test is no serve-dir')
  // a process that says it is serve-dir on a port where nothing listens: not healthy
  const impostor = spawnReaped(t, process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'dist/bin/serve-dir.js', String(await freePort())])
  t.match(await check(impostor.pid as number), { code: 1, stderr: '' })
  s.child.kill('SIGKILL')
  await exitOf(s.child)
  t.match(await check(s.child.pid as number), { code: 1 }, 'gone')
  const dockerfile = readFileSync(path.join(ProjectRoot, 'Dockerfile'), 'utf8')
  t.match(dockerfile, /^ {2}CMD \["node", "dist\/bin\/healthcheck\.js"\]$/m)
})
