import t, { type Test } from 'tap'
import path from 'node:path'
import net from 'node:net'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { HELP, USAGE, parseCli, servingLine } from '../../bin/serve-dir'
import { exitOf, rawRequest, startServing, waitFor, type Serving } from '../helper'

const BIN = path.join(__dirname, '..', '..', 'bin', 'serve-dir.ts')
// the test runner's own loader flags, so the command runs from source and counts for coverage
const NODE = [...process.execArgv, BIN]
// what a terminal gets by default; the JSON form has its own test
const PY = ['--log-format', 'python']
const LIMIT = 15000

function run (args: string[], cwd?: string, format = PY): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [...NODE, ...args, ...format], { cwd, encoding: 'utf8', timeout: LIMIT })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Starts the command (`format`: the log format flags) and waits for its first line. */
async function start (t: Test, args: string[], cwd?: string, format = PY): Promise<Serving> {
  const s = await startServing(t, process.execPath, [...NODE, ...args, ...format], { cwd }, LIMIT)
  if (s.firstLine === '') throw new Error(`no first line; stdout: ${s.stdout()}`)
  return s
}

/** Waits (bounded) until the command has logged a finished request. */
async function completed (s: Serving): Promise<string> {
  await waitFor('a request log line', () => s.stderr().includes('request completed'), LIMIT)
  return s.stderr()
}

t.test('parseCli: Python\'s defaults, except loopback', async (t) => {
  t.same(parseCli([]), { port: 8000, host: '127.0.0.1', directory: process.cwd(), logLevel: 'info', logFormat: 'json', workers: 1, graceMs: 5000, trustProxy: false, http2: false, plugin: {} })
  t.same(parseCli(['8080', '--bind', '0.0.0.0', '--directory', '/srv']), { port: 8080, host: '0.0.0.0', directory: '/srv', logLevel: 'info', logFormat: 'json', workers: 1, graceMs: 5000, trustProxy: false, http2: false, plugin: {} })
  t.same(parseCli(['-b', '::1', '-d', 'www', '0']), { port: 0, host: '::1', directory: path.resolve('www'), logLevel: 'info', logFormat: 'json', workers: 1, graceMs: 5000, trustProxy: false, http2: false, plugin: {} })
  t.equal(parseCli(['-h']), null)
  t.throws(() => parseCli(['abc']), { message: "argument port: invalid port: 'abc'" })
  t.throws(() => parseCli(['65536']))
  t.throws(() => parseCli(['1', '2']), { message: 'unrecognized arguments: 2' })
  t.throws(() => parseCli(['--nope']), { message: 'unrecognized arguments: --nope' })
  t.throws(() => parseCli(['--bind']), { message: 'argument -b/--bind: expected one argument' })
  t.throws(() => parseCli(['--cgi']), { message: 'argument --cgi: CGI is not supported' })
  t.throws(() => parseCli(['--cgi=1']), { message: 'argument --cgi: ignored explicit argument' })
  t.throws(() => parseCli(['--help=x']), { message: 'argument -h/--help: ignored explicit argument' })
  t.throws(() => parseCli(['-z']), { message: 'unrecognized arguments: -z' })
  t.equal(parseCli(['-l', 'warn'])?.logLevel, 'warn')
  t.equal(parseCli(['-w', '0'])?.workers, 0)
  t.equal(parseCli(['-P'])?.logFormat, 'pretty')
  t.equal(parseCli(['--log-format', 'python'])?.logFormat, 'python')
  t.throws(() => parseCli(['--log-format', 'xml']), { message: /^argument --log-format: invalid choice: 'xml'/ })
  t.equal(parseCli(['--grace', '0.5'])?.graceMs, 500)
  t.throws(() => parseCli(['--grace', 'soon']), { message: "argument --grace: invalid number of seconds: 'soon'" })
  t.equal(parseCli(['--trust-proxy'])?.trustProxy, true)
  t.same(parseCli(['--cors', '8080'])?.plugin, { cors: true }, '--cors alone: any origin (8080 is the port)')
  t.equal(parseCli(['--cors', '8080'])?.port, 8080)
  t.same(parseCli(['--cors', 'https://a.example'])?.plugin, { cors: 'https://a.example' })
  t.same(parseCli(['--cors', '*'])?.plugin, { cors: true })
  t.same(parseCli(['--spa'])?.plugin, { spa: 'index.html' })
  t.same(parseCli(['--spa', 'app.html', '9000'])?.plugin, { spa: 'app.html' })
  t.same(parseCli(['--spa', '9000'])?.plugin, { spa: 'index.html' })
  t.same(parseCli(['--spa', '--cors'])?.plugin, { spa: 'index.html', cors: true })
  t.same(parseCli(['-H', 'X-A: 1', '--header', 'X-B:2'])?.plugin, { headers: { 'X-A': '1', 'X-B': '2' } })
  t.throws(() => parseCli(['-H', 'nocolon']), { message: "argument -H/--header: expected 'Name: value', got 'nocolon'" })
  t.same(parseCli(['--no-download'])?.plugin, { archives: false })
  t.same(parseCli(['--tls-cert', 'c.pem'])?.tls, { cert: 'c.pem', key: undefined, passwordFile: undefined })
  t.throws(() => parseCli(['-w', 'x']), { message: "argument -w/--workers: invalid number: 'x'" })
  t.throws(() => parseCli(['-l', 'loud']), { message: /^argument -l\/--log-level: invalid choice: 'loud'/ })
  t.throws(() => parseCli(['-p', 'HTTP/2']), { message: "argument -p/--protocol: invalid version: 'HTTP/2'" })
  t.same(parseCli(['-p', 'HTTP/1.0', '9000']), { port: 9000, host: '127.0.0.1', directory: process.cwd(), logLevel: 'info', logFormat: 'json', workers: 1, graceMs: 5000, trustProxy: false, http2: false, plugin: {} }, 'Python\'s -p is accepted')
  t.intercept(process.stderr, 'isTTY', { value: true })
  t.equal(parseCli([])?.logFormat, 'python', 'on a terminal, Python\'s lines')
})

t.test('servingLine brackets IPv6 hosts in the URL', async (t) => {
  t.equal(servingLine({ address: '127.0.0.1', port: 8000, family: 'IPv4' }), 'Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ...')
  t.equal(servingLine({ address: '::1', port: 80, family: 'IPv6' }), 'Serving HTTP on ::1 port 80 (http://[::1]:80/) ...')
})

t.test('--help prints the usage and says why loopback', async (t) => {
  const r = run(['--help'])
  t.equal(r.status, 0)
  t.equal(r.stdout, HELP)
  t.match(r.stdout, /default: 127\.0\.0\.1, this machine\s+only/)
  // every option the help explains is in the usage line, by its short name when it has one
  const options = [...HELP.matchAll(/^ {2}(?:(-\w)[ ,][^\n]*?)?(--[\w-]+)/gm)].map((m) => m[1] ?? m[2])
  t.ok(options.length > 15, `${options.length} options`)
  for (const option of options) t.ok(USAGE.includes(`[${option}`), `usage names ${option}`)
})

t.test('usage mistakes exit 2 with the usage line on stderr', async (t) => {
  for (const args of [['abc'], ['70000'], ['--nope'], ['1', '2'], ['--bind'], ['--cgi']]) {
    const r = run(args)
    t.equal(r.status, 2, args.join(' '))
    t.ok(r.stderr.startsWith(USAGE + '\nserve-dir: error: '), args.join(' '))
    t.match(r.stderr, /\nserve-dir: error: .+\n$/, args.join(' '))
    t.equal(r.stdout, '')
  }
})

t.test('serves the current directory, prints Python\'s first line, exits 0 on SIGINT', async (t) => {
  const dir = t.testdir({ 'index.html': 'hello from cwd' })
  const s = await start(t, ['0'], dir)
  t.match(s.firstLine, new RegExp(`^Serving HTTP on 127\\.0\\.0\\.1 port ${s.port} \\(http://127\\.0\\.0\\.1:${s.port}/\\) \\.\\.\\.$`))
  const res = await rawRequest(s.port, '/')
  t.equal(res.body, 'hello from cwd')
  t.equal((await rawRequest(s.port, '/a%01b')).statusCode, 404)
  await waitFor('two request lines', () => s.stderr().split('\n').length > 2, LIMIT)
  // Python: 127.0.0.1 - - [25/Nov/2026 08:38:21] "GET / HTTP/1.1" 200 -
  t.match(s.stderr(), /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "GET \/ HTTP\/1\.1" 200 -\n/, 'a Python line per request on stderr')
  t.match(s.stderr(), '"GET /a%01b HTTP/1.1" 404 -\n')
  s.child.kill('SIGINT')
  t.equal(await exitOf(s.child, LIMIT), 0)
  t.match(s.stdout(), 'Keyboard interrupt received, exiting.')
})

t.test('the first line matches what Python prints', { skip: spawnSync('python3', ['--version']).status !== 0 && 'no python3' }, async (t) => {
  const py = await startServing(t, 'python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1'], { cwd: t.testdir({}) }, LIMIT)
  const pyLine = py.firstLine
  const pyPort = String(py.port)
  const s = await start(t, ['0', '--directory', t.testdir({})])
  t.equal(s.firstLine, pyLine.split(pyPort).join(String(s.port)))
})

t.test('--log-level warn: no request lines', async (t) => {
  const dir = t.testdir({ 'a.txt': 'quiet' })
  const s = await start(t, ['0', '-d', dir, '-l', 'warn'])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'quiet')
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child, LIMIT), 0)
  t.equal(s.stderr(), '')
})

t.test('off a terminal, one JSON line per request; --trust-proxy logs the real client', async (t) => {
  const dir = t.testdir({ 'a.txt': 'json' })
  const s = await start(t, ['0', '-d', dir, '--trust-proxy'], undefined, [])
  const socket = net.connect(s.port, '127.0.0.1').resume()
  socket.write('GET /a.txt?x=%1b HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n')
  await once(socket, 'close')
  const line = (await completed(s)).split('\n').filter((l) => l.includes('request completed')).map((l) => JSON.parse(l))[0]
  t.match(line, { level: 30, method: 'GET', url: '/a.txt?x=%1b', statusCode: 200, remoteAddress: '203.0.113.7', bytes: Number, responseTime: Number })
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child, LIMIT), 0)
})

t.test('-P: pino-pretty lines', async (t) => {
  const dir = t.testdir({ 'a.txt': 'pretty' })
  const s = await start(t, ['0', '-d', dir], undefined, ['-P'])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'pretty')
  const err = await completed(s)
  t.match(err, /INFO.*request completed/)
  t.notMatch(err, /^\{/m, 'not JSON')
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child, LIMIT), 0)
})

t.test('--bind ::1 and --directory; SIGTERM exits 0', async (t) => {
  const dir = t.testdir({ 'a.txt': 'v6' })
  const s = await start(t, ['0', '--bind', '::1', '--directory', dir])
  t.equal(s.firstLine, `Serving HTTP on ::1 port ${s.port} (http://[::1]:${s.port}/) ...`)
  t.equal((await rawRequest(s.port, '/a.txt', { host: '::1' })).body, 'v6')
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child, LIMIT), 0)
})

t.test('port in use, missing folder or foreign address: one clear line, exit 1', async (t) => {
  const busy = net.createServer().listen(0, '127.0.0.1')
  await once(busy, 'listening')
  t.teardown(() => busy.close())
  const port = (busy.address() as net.AddressInfo).port
  const dir = t.testdir({})
  for (const [args, message] of [
    [[String(port), '-d', dir], `serve-dir: error: port ${port} on 127.0.0.1 is already in use\n`],
    [['0', '-d', path.join(dir, 'missing')], /^serve-dir: error: Invalid serve-dir root ".*missing": no such directory\n$/],
    [['0', '-d', dir, '-b', '192.0.2.123'], 'serve-dir: error: cannot bind to 192.0.2.123: no such address on this machine\n'],
    [['0', '-d', dir, '-b', 'no-such-host.invalid'], 'serve-dir: error: cannot bind to no-such-host.invalid: no such address on this machine\n']
  ] as const) {
    const r = run([...args])
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
    t.equal(r.stdout, '')
    // with JSON logs too: nothing is said about serving before the start has worked
    t.same(run([...args], undefined, ['--log-format', 'json']).stderr.split('\n'), [r.stderr.trimEnd(), ''], `${args.join(' ')}: JSON logs, still one line`)
  }
})

t.test('--grace: a download that outlasts it is cut, and the process exits 0', async (t) => {
  const dir = t.testdir({})
  const { writeFileSync } = await import('node:fs')
  writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(64 * 1024 * 1024))
  const s = await start(t, ['0', '-d', dir, '--grace', '0.3'])
  const socket = net.connect(s.port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(socket, 'data')
  socket.pause()
  const began = Date.now()
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child, LIMIT), 0)
  t.ok(Date.now() - began >= 250, 'waited for the grace period')
  t.match(s.stderr(), 'grace period over')
})

t.test('a second signal while a download holds the close exits at once', async (t) => {
  const dir = t.testdir({})
  const { writeFileSync } = await import('node:fs')
  writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(64 * 1024 * 1024))
  const s = await start(t, ['0', '-d', dir])
  const socket = net.connect(s.port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(socket, 'data')
  socket.pause() // a slow client: the response cannot finish
  s.child.kill('SIGINT')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(s.child.exitCode, null, 'the first signal waits for the download')
  s.child.kill('SIGINT')
  t.equal(await exitOf(s.child, LIMIT), 130)
})
