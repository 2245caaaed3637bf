// Shared by the tests: the app as `fastify start` builds it, and the plugin on a bare Fastify.
import * as path from 'node:path'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
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
export async function build (t: Test, args: string[] = []): Promise<FastifyInstance> {
  const argv = [AppPath, '--', ...args]
  // skipOverride exposes the app's decorators to the test, as the fastify-cli template does
  const app = await helper.build(argv, { skipOverride: true }, appOptions) as unknown as FastifyInstance
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
