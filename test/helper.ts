// Shared by the tests: the app as `fastify start` builds it, and the plugin on a bare Fastify.
import * as path from 'node:path'
import net from 'node:net'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams, type SpawnOptions, type SpawnSyncReturns } from 'node:child_process'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import * as helper from 'fastify-cli/helper.js'
import { options as appOptions } from '../app'
import serveDir, { type ServeDirOptions } from '../lib/serve-dir'

export const AppPath = path.join(__dirname, '..', 'app.ts')
export const ProjectRoot = path.join(__dirname, '..')

/**
 * How long to wait for another process (to start, answer, exit) or for an event, before calling it
 * a hang. Idle, a command starts in under half a second and answers in milliseconds; this is a
 * hundred times that, so that a test fails only on a real hang, also on a machine busy elsewhere.
 */
export const PATIENCE = 60_000

/** What `npm run build:ts` puts into dist/: TypeScript, compiled, and the listing's stylesheet and script, copied. */
const SOURCE = /\.(ts|css|js)$/

/** Newest modification time of the sources that `npm run build:ts` compiles or copies into dist/. */
function newestSource (dir = ProjectRoot, depth = 0): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory() && depth === 0 && ['bin', 'lib', 'plugins', 'routes', 'examples'].includes(entry.name)) newest = Math.max(newest, newestSource(full, 1))
    else if (entry.isDirectory() && depth > 0) newest = Math.max(newest, newestSource(full, depth + 1))
    else if (entry.isFile() && (depth > 0 ? SOURCE.test(entry.name) : entry.name === 'app.ts')) newest = Math.max(newest, statSync(full).mtimeMs)
  }
  return newest
}

let checked = false

/**
 * A built script under dist/, for tests that run the command or the app as users do (a second or
 * so faster per process than the TypeScript loader; its coverage still counts, through the source
 * maps). `npm test` builds first; a single-file run after an edit needs `npm run build:ts`.
 */
export function built (...segments: string[]): string {
  const file = path.join(ProjectRoot, 'dist', ...segments)
  if (!checked) {
    let mtime = 0
    try { mtime = statSync(file).mtimeMs } catch {}
    if (mtime < newestSource()) throw new Error(`${path.relative(ProjectRoot, file)} is missing or older than the sources: run \`npm run build:ts\` (npm test does)`)
    checked = true
  }
  return file
}

/** The built command, `serve-dir`. */
export const command = (): string => built('bin', 'serve-dir.js')

/** Runs the built command to its end (bounded by {@link PATIENCE}). */
export function runCommand (args: readonly string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [command(), ...args], { ...options, encoding: 'utf8', timeout: PATIENCE })
}

export type Tree = Parameters<Test['testdir']>[0]

/**
 * The whole app through fastify-cli's `build`, exactly as `fastify start -o dist/app.js -- ...args`
 * would load it: `args` are the plugin options after `--`, e.g. `['--root', dir]`.
 */
export async function build (t: Test, args: string[] = [], serverOptions: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const argv = [AppPath, '--', ...args]
  // no skipOverride: loaded as `fastify start` loads it (the app is skip-override itself, fastify-plugin)
  const app = await helper.build(argv, {}, { ...appOptions, ...serverOptions }) as unknown as FastifyInstance
  t.teardown(() => app.close())
  return app
}

/** The plugin on a bare Fastify, with the 404 page and 405s the app sets up, serving a fresh `t.testdir` tree. */
export async function setup (t: Test, tree: Tree, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  return await serve(t, t.testdir(tree), opts)
}

export interface RawResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends one request line exactly as given over a real socket: `inject()` and `fetch()` normalise
 * `..` and backslashes before a server could see them. Bounded by `timeoutMs`.
 */
export async function rawRequest (port: number, target: string, { method = 'GET', host = '127.0.0.1', timeoutMs = 30_000 } = {}): Promise<RawResponse> {
  const net = await import('node:net')
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ port, host })
    const chunks: Buffer[] = []
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${method} ${target} in ${timeoutMs} ms`)))
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const i = line.indexOf(':')
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
      }
      resolve({ statusCode: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) })
    })
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, 'latin1')
  })
}

/** The plugin alone on a bare Fastify, serving an existing folder. */
export async function serve (t: Test, root: string, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  // as the app has it: our 404 page for misses, a 405 for other methods
  app.setNotFoundHandler(serveDir.notFoundHandler)
  await app.register(serveDir, { root, methodNotAllowed: true, ...opts })
  t.teardown(() => app.close())
  return app
}

/** A listing's link: `<a href>`, then the entry's icon, then its text (both given HTML-escaped). */
export function link (href: string, text: string): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`<a href="${esc(href)}"><svg class="i"[^>]*><use href="#i-\\w+"></use></svg>${esc(text)}</a>`)
}

/**
 * A TCP port free on 127.0.0.1 a moment ago, for a server started in another process. It is taken
 * below the kernel's ephemeral range, where no `listen(0)` nor outgoing connection of another test
 * can be handed it between this check and the child's bind; at random, so that two test files
 * asking at once pick different ones.
 */
export async function freePort (): Promise<number> {
  const [ephemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
  const low = 10_000
  for (let tries = 0; tries < 100; tries++) {
    const port = low + Math.floor(Math.random() * (ephemeral - low))
    const s = net.createServer().listen(port, '127.0.0.1')
    const [event] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error').then(() => ['error'])])
    if (event === 'listening') {
      await new Promise((resolve) => s.close(resolve))
      return port
    }
  }
  throw new Error(`no free port between ${low} and ${ephemeral} in 100 tries`)
}

/** The exit code of a child process; one still running after `limitMs` is killed. */
export async function exitOf (child: ChildProcess, limitMs = PATIENCE): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return code
}

/** Polls `ok` every 20 ms until it holds; throws, naming `what`, after `limitMs`. */
export async function waitFor (what: string, ok: () => boolean | Promise<boolean>, limitMs = PATIENCE): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A server process started by {@link startServing}. */
export interface Serving {
  child: ChildProcessWithoutNullStreams
  /** Its first line on stdout, `''` if none came in time. */
  firstLine: string
  /** The number after "port" in that line (Python's "Serving HTTP on ... port N ..."); NaN without one. */
  port: number
  stdout: () => string
  stderr: () => string
}

/** Process groups of children still running: killed when this test process exits, however it ends. */
const groups = new Set<number>()
process.once('exit', () => { for (const pid of groups) killGroup(pid) })

function killGroup (pid: number): void {
  try { process.kill(-pid, 'SIGKILL') } catch {}
}

/**
 * Spawns a child in a process group of its own, so that it and everything it starts (workers, a
 * shell's children) are killed when `t` ends, also when the test failed half way.
 */
export function spawnReaped (t: Test, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
  const child = spawn(command, args, { ...options, detached: true }) as ChildProcessWithoutNullStreams
  const pid = child.pid as number
  groups.add(pid)
  t.teardown(() => {
    killGroup(pid)
    groups.delete(pid)
  })
  return child
}

/**
 * Starts a server process, killed when `t` ends, and waits (bounded) until its stdout matches
 * `until` (by default: its first full line). A process that logs before its banner needs `until`.
 */
export async function startServing (t: Test, command: string, args: readonly string[], options: SpawnOptions = {}, limitMs = PATIENCE, until = /\n/): Promise<Serving> {
  const child = spawnReaped(t, command, args, options)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const deadline = Date.now() + limitMs
  while (!until.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const firstLine = out.includes('\n') ? out.slice(0, out.indexOf('\n')) : ''
  return { child, firstLine, port: Number(/ port (\d+)\b/.exec(firstLine)?.[1]), stdout: () => out, stderr: () => err }
}

/** Starts the built command (see {@link built}) and waits for its first line. */
export async function startCommand (t: Test, args: readonly string[], options: SpawnOptions = {}): Promise<Serving> {
  const s = await startServing(t, process.execPath, [command(), ...args], options)
  if (s.firstLine === '') throw new Error(`serve-dir ${args.join(' ')} printed no first line; stdout: ${s.stdout()}; stderr: ${s.stderr()}`)
  return s
}

/** Whether a new connection to `port` is accepted now (a server that is closing refuses them). */
export async function accepts (port: number, host = '127.0.0.1'): Promise<boolean> {
  const socket = net.connect(port, host)
  try {
    await once(socket, 'connect')
    return true
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

/** Text written to a stream, for the command run in this process with its output captured. */
export function capture (): { stream: Writable, text: () => string } {
  let text = ''
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    }
  })
  return { stream, text: () => text }
}

/** JSON log lines, parsed as they are written. */
export function captureLogs (): { stream: Writable, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
      cb()
    }
  })
  return { stream, lines }
}
