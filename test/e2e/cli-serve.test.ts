// serve-dir serving: the first line, the folder, the address, and the request lines in each log
// format. Run in this process through start() with its output captured, and as a real process
// for what only a process has (its working directory, Python's own first line beside it).
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { start } from '../../lib/command'
import { capture, exitOf, rawRequest, startCommand, startServing, waitFor } from '../helper'

const PY = ['--log-format', 'python']

interface Running { port: number, stdout: () => string, stderr: () => string }

/** The command in this process, serving; closed when `t` ends. */
async function serving (t: Test, args: string[]): Promise<Running> {
  const stdout = capture()
  const stderr = capture()
  const started = await start(args, { stdout: stdout.stream, stderr: stderr.stream })
  if (!('server' in started)) throw new Error(`exit ${started.status}: ${stderr.text()}`)
  t.teardown(() => started.server.close())
  return { port: (started.server.server.address() as AddressInfo).port, stdout: stdout.text, stderr: stderr.text }
}

t.test('serves the current directory, prints Python\'s first line, logs Python\'s request lines', async (t) => {
  const dir = t.testdir({ 'index.html': 'hello from cwd' })
  const s = await startCommand(t, ['0', ...PY], { cwd: dir })
  t.match(s.firstLine, new RegExp(`^Serving HTTP on 127\\.0\\.0\\.1 port ${s.port} \\(http://127\\.0\\.0\\.1:${s.port}/\\) \\.\\.\\.$`))
  t.equal((await rawRequest(s.port, '/')).body, 'hello from cwd')
  t.equal((await rawRequest(s.port, '/a%01b')).statusCode, 404)
  await waitFor('two request lines', () => s.stderr().split('\n').length > 2)
  // Python: 127.0.0.1 - - [25/Nov/2026 08:38:21] "GET / HTTP/1.1" 200 -
  t.match(s.stderr(), /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "GET \/ HTTP\/1\.1" 200 -\n/, 'a Python line per request on stderr')
  t.match(s.stderr(), '"GET /a%01b HTTP/1.1" 404 -\n')
  s.child.kill('SIGINT')
  t.equal(await exitOf(s.child), 0)
  t.match(s.stdout(), 'Keyboard interrupt received, exiting.')
})

t.test('the first line matches what Python prints', { skip: spawnSync('python3', ['--version']).status !== 0 && 'no python3' }, async (t) => {
  const py = await startServing(t, 'python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1'], { cwd: t.testdir({}) })
  const s = await serving(t, ['0', '--directory', t.testdir({}), ...PY])
  t.equal(s.stdout(), py.firstLine.split(String(py.port)).join(String(s.port)) + '\n')
})

t.test('--log-level warn: no request lines', async (t) => {
  const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'quiet' }), '-l', 'warn', ...PY])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'quiet')
  t.equal((await rawRequest(s.port, '/missing')).statusCode, 404)
  t.equal(s.stderr(), '')
})

t.test('off a terminal, one JSON line per request; --trust-proxy logs the real client', async (t) => {
  const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'json' }), '--trust-proxy', '--log-format', 'json'])
  const socket = net.connect(s.port, '127.0.0.1').resume()
  socket.write('GET /a.txt?x=%1b HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n')
  await once(socket, 'close')
  await waitFor('a request line', () => s.stderr().includes('request completed'))
  const line = s.stderr().split('\n').filter((l) => l.includes('request completed')).map((l) => JSON.parse(l))[0]
  t.match(line, { level: 30, method: 'GET', url: '/a.txt?x=%1b', statusCode: 200, remoteAddress: '203.0.113.7', bytes: Number, responseTime: Number })
})

t.test('-P: pino-pretty lines', async (t) => {
  const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'pretty' }), '-P'])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'pretty')
  await waitFor('a request line', () => s.stderr().includes('request completed'))
  t.match(s.stderr(), /INFO.*request completed/)
  t.notMatch(s.stderr(), /^\{/m, 'not JSON')
})

t.test('--bind ::1 and --directory', async (t) => {
  const s = await serving(t, ['0', '--bind', '::1', '--directory', t.testdir({ 'a.txt': 'v6' }), ...PY])
  t.equal(s.stdout(), `Serving HTTP on ::1 port ${s.port} (http://[::1]:${s.port}/) ...\n`)
  t.equal((await rawRequest(s.port, '/a.txt', { host: '::1' })).body, 'v6')
})

t.test('Python\'s lines: requests the parser refuses are logged as Python logs its errors; health checks are not', async (t) => {
  const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'a' }), ...PY])
  const big = net.connect(s.port, '127.0.0.1').resume()
  big.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`)
  await once(big, 'close')
  const bad = net.connect(s.port, '127.0.0.1').resume()
  bad.write('GET / HTTP/1.1\r\nHost x\r\n\r\n')
  await once(bad, 'close')
  t.equal((await rawRequest(s.port, '/.serve-dir/health')).statusCode, 200)
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'a')
  await waitFor('the request line of /a.txt', () => s.stderr().includes('"GET /a.txt HTTP/1.1" 200 -'))
  const lines = s.stderr().trimEnd().split('\n').map((l) => l.replace(/\[[^\]]+\]/, '[date]'))
  t.same(lines, [
    '127.0.0.1 - - [date] code 431, message Request Header Fields Too Large',
    '127.0.0.1 - - [date] "" 431 -',
    '127.0.0.1 - - [date] code 400, message Bad Request',
    '127.0.0.1 - - [date] "" 400 -',
    '127.0.0.1 - - [date] "GET /a.txt HTTP/1.1" 200 -'
  ], 'no line for the health check')
  const quiet = await serving(t, ['0', '-d', t.testdir({}), '-l', 'warn', ...PY])
  const bad2 = net.connect(quiet.port, '127.0.0.1').resume()
  bad2.write('GET / HTTP/1.1\r\nHost x\r\n\r\n')
  await once(bad2, 'close')
  t.equal((await rawRequest(quiet.port, '/')).statusCode, 200)
  t.equal(quiet.stderr(), '', '-l warn: none of them')
})

t.test('Python\'s format with -l debug: the other lines are text too, not JSON among Python\'s', async (t) => {
  const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'a' }), '-l', 'debug', ...PY])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'a')
  await waitFor('the request line and the listening line', () => s.stderr().includes('"GET /a.txt HTTP/1.1" 200 -') && s.stderr().includes('Server listening'))
  const lines = s.stderr().slice(0, s.stderr().lastIndexOf('\n')).split('\n')
  t.same(lines.filter((l) => l.startsWith('{')), [], 'no JSON line')
  const listening = lines.filter((l) => l.includes('Server listening'))
  t.equal(listening.length, 1)
  t.match(listening[0], /^\[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] INFO: Server listening at http:\/\/127\.0\.0\.1:\d+$/, 'dated as Python dates its lines')
  const other = lines.filter((l) => !/^127\.0\.0\.1 - - \[[^\]]+\] "/.test(l))
  t.ok(other.every((l) => /^\[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] (DEBUG|INFO|WARN|ERROR|FATAL|TRACE): /.test(l)), other.join('\n'))
})

t.test('--trust-proxy: a forwarded address that is not an address is logged escaped, never as fields or control codes', async (t) => {
  const forged = ['1.2.3.4 - - [02/Dec/2026 01:00:00] "GET /forged HTTP/1.1" 200 -', 'x\x9b31mred', '"quoted"\\']
  for (const format of ['python', 'json']) {
    const s = await serving(t, ['0', '-d', t.testdir({ 'a.txt': 'a' }), '--trust-proxy', '--log-format', format])
    for (const xff of forged) {
      const socket = net.connect(s.port, '127.0.0.1').resume()
      // the header's bytes as latin1: 0x9b is C1's CSI, which a terminal obeys
      socket.write(Buffer.from(`GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${xff}\r\nConnection: close\r\n\r\n`, 'latin1'))
      await once(socket, 'close')
    }
    await waitFor('three request lines', () => s.stderr().split('\n').filter((l) => l.includes('a.txt')).length === 3)
    const lines = s.stderr().trimEnd().split('\n')
    t.notMatch(s.stderr(), /[\x80-\x9f]/, `${format}: no C1 control character`)
    if (format === 'python') {
      t.same(lines.map((l) => l.replace(/\[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\]/, '[date]')), [
        '1.2.3.4\\x20-\\x20-\\x20[02/Dec/2026\\x2001:00:00]\\x20\\x22GET\\x20/forged\\x20HTTP/1.1\\x22\\x20200\\x20- - - [date] "GET /a.txt HTTP/1.1" 200 -',
        'x\\x9b31mred - - [date] "GET /a.txt HTTP/1.1" 200 -',
        '\\x22quoted\\x22\\x5c - - [date] "GET /a.txt HTTP/1.1" 200 -'
      ], 'one token each, as Python\'s own address always is')
    } else {
      t.same(lines.filter((l) => l.includes('request completed')).map((l) => JSON.parse(l).remoteAddress), [
        '1.2.3.4\\x20-\\x20-\\x20[02/Dec/2026\\x2001:00:00]\\x20\\x22GET\\x20/forged\\x20HTTP/1.1\\x22\\x20200\\x20-',
        'x\\x9b31mred',
        '\\x22quoted\\x22\\x5c'
      ])
    }
  }
})

t.test('no port given, on a terminal: a busy default port moves on to a free port up to 9 further and says so', async (t) => {
  // the default port (Python's 8000) stands in as one this test holds itself: 8000 may be anyone's
  const holder = net.createServer().listen(0, '127.0.0.1')
  await once(holder, 'listening')
  t.teardown(() => { holder.close() })
  const busy = (holder.address() as AddressInfo).port
  const dir = t.testdir({ 'index.html': 'moved' })
  const attempt = async (args: string[], tty: boolean): Promise<{ port?: number, status?: number, stderr: string }> => {
    const stdout = capture()
    const stderr = capture()
    if (tty) Object.defineProperty(stderr.stream, 'isTTY', { value: true })
    const started = await start([...args, '--directory', dir, '--log-format', 'json'],
      { stdout: stdout.stream, stderr: stderr.stream, defaultPort: busy })
    if (!('server' in started)) return { status: started.status, stderr: stderr.text() }
    const { port } = started.server.server.address() as AddressInfo
    t.equal((await rawRequest(port, '/')).body, 'moved')
    await started.server.close()
    t.match(stdout.text(), `Serving HTTP on 127.0.0.1 port ${port} `)
    return { port, stderr: stderr.text() }
  }
  const moved = await attempt([], true)
  t.ok(moved.port !== undefined && moved.port > busy && moved.port <= busy + 9, `on ${moved.port}`)
  t.match(moved.stderr, `Port ${busy} is in use, so serving on port ${moved.port} instead.`)
  for (const [args, tty, why] of [[[], false, 'not a terminal'], [[String(busy)], true, 'the port was given']] as const) {
    const r = await attempt([...args], tty)
    t.equal(r.status, 1, why)
    t.match(r.stderr, new RegExp(`^serve-dir: error: .*${busy}`), why)
  }
})
