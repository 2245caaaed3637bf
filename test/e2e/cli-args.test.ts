// serve-dir's command line: parsing, --help, usage mistakes and failed starts. Run in this process
// through start() (what the command does before it serves), with one real process per exit path.
import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { HELP, USAGE, parseCli } from '../../lib/cli-args'
import { servingLine, start } from '../../lib/command'
import { capture, runCommand } from '../helper'

// what a terminal gets by default; the JSON form has its own cases
const PY = ['--log-format', 'python']

/** Runs the command in this process up to serving, its output captured; a server it started is closed. */
async function run (args: string[]): Promise<{ status: number, stdout: string, stderr: string }> {
  const stdout = capture()
  const stderr = capture()
  const started = await start(args, { stdout: stdout.stream, stderr: stderr.stream })
  if ('server' in started) {
    await started.server.close()
    throw new Error(`serve-dir ${args.join(' ')} started`)
  }
  return { status: started.status, stdout: stdout.text(), stderr: stderr.text() }
}

t.test('parseCli: Python\'s defaults, except loopback', async (t) => {
  const defaults = { port: 8000, portGiven: false, qr: false, host: '127.0.0.1', directory: process.cwd(), logLevel: 'info', logFormat: 'json', workers: 1, graceMs: 5000, trustProxy: false, http2: false, plugin: {} }
  t.same(parseCli([]), defaults)
  t.same(parseCli(['8080', '--bind', '0.0.0.0', '--directory', '/srv']), { ...defaults, port: 8080, portGiven: true, host: '0.0.0.0', directory: '/srv' })
  t.same(parseCli(['-b', '::1', '-d', 'www', '0']), { ...defaults, port: 0, portGiven: true, host: '::1', directory: path.resolve('www') })
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
  t.equal(parseCli(['--qr'])?.qr, true)
  t.equal(parseCli([])?.qr, false)
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
  t.throws(() => parseCli(['-p', 'HTTP/2']), { message: "argument -p/--protocol: invalid version: 'HTTP/2' (HTTP/1.0 or HTTP/1.1)" })
  t.throws(() => parseCli(['-p', '8080']), { message: "argument -p/--protocol: invalid version: '8080' (the port needs no flag: serve-dir 8080)" })
  t.same(parseCli(['-p', 'HTTP/1.0', '9000']), { ...defaults, port: 9000, portGiven: true }, 'Python\'s -p is accepted')
  t.intercept(process.stderr, 'isTTY', { value: true })
  t.equal(parseCli([])?.logFormat, 'python', 'on a terminal, Python\'s lines')
})

t.test('parseCli: the folder\'s options, as the app and the plugin name them', async (t) => {
  t.same(parseCli(['--prefix', '/files', '--index', 'a.html,b.htm', '--no-listing', '--dotfiles', 'allow', '--symlinks', 'deny', '--dirs-first', '--download-html', '--max-age', '3600', '--cache-bytes', '0', '--max-connections', '100'])?.plugin,
    { prefix: '/files', index: ['a.html', 'b.htm'], listing: false, dotfiles: 'allow', symlinks: 'deny', dirsFirst: true, downloadHtml: true, maxAge: 3600, cacheBytes: 0, maxConnections: 100 })
  t.same(parseCli(['--no-index'])?.plugin, { index: false })
  t.throws(() => parseCli(['--no-index', '--index', 'a.html']), { message: 'argument --no-index: not allowed with argument --index' })
  t.throws(() => parseCli(['--max-age', 'soon']), { message: "argument --max-age: invalid whole number: 'soon'" })
  t.throws(() => parseCli(['--max-connections', '-1']), { message: /^argument --max-connections: / })
  t.throws(() => parseCli(['--cache-bytes', '64M']), { message: "argument --cache-bytes: invalid whole number: '64M'" })
  t.same(parseCli(['--http2-client-streams', '7'])?.plugin, { http2ClientStreams: 7 })
  t.throws(() => parseCli(['--http2-client-streams', '0']), { message: 'argument --http2-client-streams: must be at least 1' })
  t.throws(() => parseCli(['--dotfiles', 'show']), { message: "argument --dotfiles: invalid choice: 'show' (choose from ignore, allow)" })
  t.throws(() => parseCli(['--symlinks', 'maybe']), { message: "argument --symlinks: invalid choice: 'maybe' (choose from inside, follow, deny)" })
})

t.test('parseCli: --upload [URLPATH] (alone: /), repeatable, and --allowed-host only beside it', async (t) => {
  t.same(parseCli(['--upload'])?.plugin, { uploads: { paths: ['/'], allowedHosts: [] } })
  t.same(parseCli(['--upload', '8080'])?.port, 8080, 'a port after --upload is the port')
  t.same(parseCli(['--upload', '/inbox', '--upload', '/drop', '--allowed-host', 'nas.lan'])?.plugin,
    { uploads: { paths: ['/inbox', '/drop'], allowedHosts: ['nas.lan'] } })
  t.same(parseCli(['--upload=/inbox'])?.plugin, { uploads: { paths: ['/inbox'], allowedHosts: [] } })
  t.throws(() => parseCli(['--allowed-host', 'nas.lan']), { message: 'argument --allowed-host: only with --upload or --live-reload' })
  t.same(parseCli(['--upload', '--max-uploads', '100', '--max-client-uploads', '10'])?.plugin,
    { uploads: { paths: ['/'], allowedHosts: [], maxConcurrent: 100, maxPerClient: 10 } })
  t.throws(() => parseCli(['--upload', '--max-uploads', '0']), { message: "argument --max-uploads: invalid number, 1 or more: '0'" })
  t.throws(() => parseCli(['--max-client-uploads', '2']), { message: 'argument --max-client-uploads: only with --upload' })
})

t.test('parseCli: --live-reload, with --allowed-host, and never with several workers', async (t) => {
  t.same(parseCli(['--live-reload'])?.plugin, { liveReload: { allowedHosts: [] } })
  t.same(parseCli(['--live-reload', '--allowed-host', 'dev.lan'])?.plugin, { liveReload: { allowedHosts: ['dev.lan'] } })
  t.throws(() => parseCli(['--live-reload', '-w', '2']), { message: 'argument -w/--workers: not allowed with argument --live-reload' })
  t.throws(() => parseCli(['--live-reload', '-w', '0']), { message: 'argument -w/--workers: not allowed with argument --live-reload' })
  t.same(parseCli(['--live-reload', '-w', '1'])?.workers, 1)
  t.same(parseCli(['--live-reload', '--max-watched-folders', '500', '--max-live-streams', '20'])?.plugin,
    { liveReload: { allowedHosts: [], maxFolders: 500, maxStreams: 20 } })
  t.throws(() => parseCli(['--max-watched-folders', '500']), { message: 'argument --max-watched-folders: only with --live-reload' })
  t.throws(() => parseCli(['--live-reload', '--max-live-streams', 'many']), { message: "argument --max-live-streams: invalid whole number: 'many'" })
})

t.test('--upload reaches the plugin: a PUT is stored, and the request timeout no longer cuts an upload', async (t) => {
  const dir = t.testdir({ inbox: {} })
  const started = await start(['0', '-d', dir, '--upload', '/inbox', '-l', 'silent'], { stdout: capture().stream, stderr: capture().stream })
  if (!('server' in started)) throw new Error('did not start')
  t.teardown(() => started.server.close())
  const app = started.server
  t.equal((await app.inject({ method: 'PUT', url: '/inbox/a.txt', payload: 'up' })).statusCode, 201)
  t.equal(readFileSync(path.join(dir, 'inbox', 'a.txt'), 'utf8'), 'up')
  t.equal((await app.inject({ method: 'PUT', url: '/b.txt', payload: 'up' })).statusCode, 403, 'only below /inbox')
  t.equal(app.server.requestTimeout, 0)
})

t.test('the folder\'s options reach the plugin: prefix, index, listing, dotfiles, caching, connections', async (t) => {
  const dir = t.testdir({ 'a.txt': 'a', '.env': 'secret', sub: { 'home.html': 'home' }, empty: {} })
  const stdout = capture()
  const started = await start(['0', '-d', dir, '--prefix', '/files', '--index', 'home.html', '--no-listing', '--dotfiles', 'allow', '--max-age', '60', '--cache-bytes', '0', '--max-connections', '5', '-l', 'silent'], { stdout: stdout.stream, stderr: capture().stream })
  if (!('server' in started)) throw new Error('did not start')
  t.teardown(() => started.server.close())
  const app = started.server
  const a = await app.inject('/files/a.txt')
  t.equal(a.body, 'a')
  t.equal(a.headers['cache-control'], 'public, max-age=60')
  t.equal((await app.inject('/a.txt')).statusCode, 404, 'only under the prefix')
  t.equal((await app.inject('/files/.env')).body, 'secret', '--dotfiles allow')
  t.equal((await app.inject('/files/sub/')).body, 'home', '--index')
  t.equal((await app.inject('/files/empty/')).statusCode, 404, '--no-listing')
  t.equal(app.server.maxConnections, 5, '--max-connections')
})

t.test('--version says the package\'s version; the help fits 80 columns', async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'))
  t.same(await run(['--version']), { status: 0, stdout: `serve-dir ${pkg.version as string}\n`, stderr: '' })
  t.same(await run(['--nope', '--version']), { status: 0, stdout: `serve-dir ${pkg.version as string}\n`, stderr: '' }, 'as soon as it is given, as argparse does')
  for (const line of HELP.split('\n')) t.ok(line.length <= 80, `${line.length} columns: ${line}`)
})

t.test('servingLine brackets IPv6 hosts in the URL', async (t) => {
  t.equal(servingLine({ address: '127.0.0.1', port: 8000, family: 'IPv4' }), 'Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ...')
  t.equal(servingLine({ address: '::1', port: 80, family: 'IPv6' }), 'Serving HTTP on ::1 port 80 (http://[::1]:80/) ...')
})

t.test('--help prints the usage and says why loopback', async (t) => {
  const r = await run(['--help'])
  t.same(r, { status: 0, stdout: HELP, stderr: '' })
  t.match(r.stdout, /default: 127\.0\.0\.1, this machine\s+only/)
  // every option the help explains is in the usage line, by its short name when it has one
  const options = [...HELP.matchAll(/^ {2}(?:(-\w)[ ,][^\n]*?)?(--[\w-]+)/gm)].map((m) => m[1] ?? m[2])
  t.ok(options.length > 15, `${options.length} options`)
  for (const option of options) t.ok(USAGE.includes(`[${option}`), `usage names ${option}`)
})

t.test('usage mistakes: status 2 with the usage line on stderr', async (t) => {
  for (const args of [['abc'], ['70000'], ['--nope'], ['1', '2'], ['--bind'], ['--cgi']]) {
    const r = await run([...args, ...PY])
    t.equal(r.status, 2, args.join(' '))
    t.ok(r.stderr.startsWith(USAGE + '\nserve-dir: error: '), args.join(' '))
    t.match(r.stderr, /\nserve-dir: error: .+\n$/, args.join(' '))
    t.equal(r.stdout, '')
  }
})

t.test('the command\'s process: --help exits 0, a usage mistake exits 2', async (t) => {
  const help = runCommand(['--help'])
  t.equal(help.status, 0)
  t.equal(help.stdout, HELP)
  const wrong = runCommand(['--nope'])
  t.equal(wrong.status, 2)
  t.equal(wrong.stderr, `${USAGE}\nserve-dir: error: unrecognized arguments: --nope\n`)
  t.equal(wrong.stdout, '')
})

t.test('port in use, missing folder or foreign address: one clear line, status 1', async (t) => {
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
    const r = await run([...args, ...PY])
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
    t.equal(r.stdout, '')
    // with JSON logs too: nothing is said about serving before the start has worked
    const json = await run([...args, '--log-format', 'json'])
    t.same(json.stderr.split('\n'), [r.stderr.trimEnd(), ''], `${args.join(' ')}: JSON logs, still one line`)
  }
  const real = runCommand([String(port), '-d', dir])
  t.equal(real.status, 1, 'the process exits 1')
  t.equal(real.stderr, `serve-dir: error: port ${port} on 127.0.0.1 is already in use\n`)
})

t.test('the Docker image: flags given to docker run are added to its defaults, not put in their place', async (t) => {
  const dockerfile = readFileSync(path.join(__dirname, '..', '..', 'Dockerfile'), 'utf8')
  const entry = JSON.parse((/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile) as RegExpExecArray)[1]) as string[]
  const cmd = JSON.parse((/^CMD (\[.*\])$/m.exec(dockerfile) as RegExpExecArray)[1]) as string[]
  t.same(entry.slice(0, 2), ['node', 'dist/bin/serve-dir.js'])
  const plain = parseCli([...entry.slice(2), ...cmd])
  t.match(plain, { port: 8000, host: '0.0.0.0', directory: '/srv/www', logFormat: 'json', graceMs: 10000 })
  // docker run IMAGE --cors: the arguments replace CMD only
  t.match(parseCli([...entry.slice(2), '--cors']), { port: 8000, host: '0.0.0.0', directory: '/srv/www', plugin: { cors: true } })
  t.match(parseCli([...entry.slice(2), '9000', '--bind', '127.0.0.1']), { port: 9000, host: '127.0.0.1' }, 'a later flag wins')
})
