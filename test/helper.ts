// Shared by the tests: the app as `fastify start` builds it, and the plugin on a bare Fastify.
import * as path from 'node:path'
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
