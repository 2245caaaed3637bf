// --open [PATH]: the URL handed to the desktop's opener as one argument (no shell), only when a
// person is at a terminal with a display; a stand-in xdg-open records what it was given.
import t from 'tap'
import path from 'node:path'
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { parseCli } from '../../lib/cli-args'
import { start } from '../../lib/command'
import { opener, openBrowser } from '../../lib/open-browser'
import { capture, waitFor } from '../helper'

t.test('parseCli: --open [PATH]', async (t) => {
  t.equal(parseCli(['--open'])?.open, '/')
  t.equal(parseCli(['--open', '/docs/'])?.open, '/docs/')
  t.equal(parseCli(['--open', '8080'])?.port, 8080, 'a port after --open is the port')
  t.equal(parseCli(['--open', '--prefix', '/files'])?.open, '/files/', 'the prefix, by default')
  t.equal(parseCli([])?.open, undefined)
})

t.test('opener: which program, and when none', async (t) => {
  const url = 'http://127.0.0.1:8000/'
  t.same(opener(url, { platform: 'linux', env: { DISPLAY: ':0' }, terminal: true }), { command: 'xdg-open', args: [url] })
  t.same(opener(url, { platform: 'freebsd', env: { WAYLAND_DISPLAY: 'wayland-0' }, terminal: true }), { command: 'xdg-open', args: [url] })
  t.same(opener(url, { platform: 'darwin', env: {}, terminal: true }), { command: 'open', args: [url] })
  t.same(opener(url, { platform: 'linux', env: {}, terminal: true }), { none: 'no display' })
  t.same(opener(url, { platform: 'linux', env: { DISPLAY: ':0' }, terminal: false }), { none: 'not started from a terminal' })
  t.same(opener(url, { platform: 'win32', env: {}, terminal: true }), { none: 'Windows is not supported' })
})

t.test('--open on a terminal with a display: the opener gets the URL, with the token and the path, as one argument', async (t) => {
  const dir = t.testdir({
    www: { 'a b': { 'x.txt': 'x' } },
    bin: { 'xdg-open': '#!/bin/sh\nprintf "%s\\n" "$#" "$@" "${SERVE_DIR_PASSWORD-none}" > "$(dirname "$0")/opened"\n' }  // eslint-disable-line no-template-curly-in-string
  })
  chmodSync(path.join(dir, 'bin', 'xdg-open'), 0o755)
  const stderr = Object.assign(capture().stream, { isTTY: true })
  const env = { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}`, DISPLAY: ':0', SERVE_DIR_PASSWORD: 'pw' }
  const started = await start(['0', '-d', path.join(dir, 'www'), '--auth', 'bob', '--token', '--open', '/a b/;$(touch pwned)#?', '-l', 'silent', '--log-format', 'json'], { stdout: capture().stream, stderr, env })
  if (!('server' in started)) throw new Error('did not start')
  t.teardown(() => started.server.close())
  const { port } = started.server.server.address() as AddressInfo
  const opened = path.join(dir, 'bin', 'opened')
  await waitFor('the opener to run', () => existsSync(opened) && readFileSync(opened, 'utf8').endsWith('\n'))
  const [count, url, password] = readFileSync(opened, 'utf8').split('\n')
  t.equal(count, '1', 'one argument')
  t.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/a%20b/%3B%24\\(touch%20pwned\\)%23%3F\\?token=[\\w-]{22}$`), 'every segment encoded, the token in the query')
  t.equal(password, 'none', 'the browser does not inherit $SERVE_DIR_PASSWORD')
  t.notOk(existsSync(path.join(dir, 'bin', 'pwned')) || existsSync('pwned'), 'nothing ran through a shell')
})

t.test('--open without a terminal, or an opener that fails: one line, and the server serves on', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a' })
  const stderr = capture()
  const started = await start(['0', '-d', dir, '--open', '-l', 'silent'], { stdout: capture().stream, stderr: stderr.stream })
  if (!('server' in started)) throw new Error('did not start')
  t.teardown(() => started.server.close())
  t.match(stderr.text(), /^--open: no browser opened \(not started from a terminal\); open http:\/\/127\.0\.0\.1:\d+\/$/m)
  t.equal((await started.server.inject('/a.txt')).body, 'a')
  const said = capture()
  const child = openBrowser('http://127.0.0.1:1/', { platform: 'linux', env: { DISPLAY: ':0', PATH: dir }, terminal: true }, said.stream)
  await waitFor('the failure', () => said.text() !== '')
  t.ok(child)
  t.match(said.text(), /^--open: xdg-open failed \(spawn xdg-open ENOENT\); open http:\/\/127\.0\.0\.1:1\/\n$/)
})
