// Shared by the tests: the app as `fastify start` builds it, and the plugin on a bare Fastify.
import * as path from 'node:path'
import net from 'node:net'
import { once } from 'node:events'
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams, type SpawnOptions } from 'node:child_process'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import * as helper from 'fastify-cli/helper.js'
import { options as appOptions } from '../app'
import serveDir, { type ServeDirOptions } from '../lib/serve-dir'

export const AppPath = path.join(__dirname, '..', 'app.ts')
export const ProjectRoot = path.join(__dirname, '..')

export type Tree = Parameters<Test['testdir']>[0]

/**
 * The whole app through fastify-cli's `build`, exactly as `fastify start -o dist/app.js -- ...args`
 * would load it: `args` are the plugin options after `--`, e.g. `['--root', dir]`.
 */
export async function build (t: Test, args: string[] = [], serverOptions: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const argv = [AppPath, '--', ...args]
  // skipOverride exposes the app's decorators to the test, as the fastify-cli template does
  const app = await helper.build(argv, { skipOverride: true }, { ...appOptions, ...serverOptions }) as unknown as FastifyInstance
  t.teardown(() => app.close())
  return app
}

/** The plugin alone on a bare Fastify, serving a fresh `t.testdir` tree. */
export async function setup (t: Test, tree: Tree, opts: Partial<ServeDirOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(serveDir, { root: t.testdir(tree), ...opts })
  t.teardown(() => app.close())
  return app
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
export async function rawRequest (port: number, target: string, { method = 'GET', host = '127.0.0.1', timeoutMs = 5000 } = {}): Promise<RawResponse> {
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
  await app.register(serveDir, { root, ...opts })
  t.teardown(() => app.close())
  return app
}

/** A listing's link: `<a href>`, then the entry's icon, then its text (both given HTML-escaped). */
export function link (href: string, text: string): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`<a href="${esc(href)}"><svg class="i"[^>]*><use href="#i-\\w+"></use></svg>${esc(text)}</a>`)
}

/** A TCP port free on 127.0.0.1 a moment ago, for a server started in another process. */
export async function freePort (): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address() as net.AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** The exit code of a child process; one still running after `limitMs` is killed. */
export async function exitOf (child: ChildProcess, limitMs: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return code
}

/** Polls `ok` every 20 ms until it holds; throws, naming `what`, after `limitMs`. */
export async function waitFor (what: string, ok: () => boolean | Promise<boolean>, limitMs = 15000): Promise<void> {
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

/**
 * Starts a server process, killed when `t` ends, and waits (bounded) until its stdout matches
 * `until` (by default: its first full line). A process that logs before its banner needs `until`.
 */
export async function startServing (t: Test, command: string, args: readonly string[], options: SpawnOptions = {}, limitMs = 15000, until = /\n/): Promise<Serving> {
  const child = spawn(command, args, options) as ChildProcessWithoutNullStreams
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const deadline = Date.now() + limitMs
  while (!until.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const firstLine = out.includes('\n') ? out.slice(0, out.indexOf('\n')) : ''
  return { child, firstLine, port: Number(/ port (\d+)\b/.exec(firstLine)?.[1]), stdout: () => out, stderr: () => err }
}
