// first, for its side effect: Node >= 22.1 keeps compiled code on disk between starts
import './lib/compile-cache'
import { join } from 'node:path'
import AutoLoad, { type AutoloadPluginOptions } from '@fastify/autoload'
import type { FastifyPluginAsync, FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { METHODS } from 'node:http'
import { errorHandler, notFoundHandler } from './lib/serve-dir/error-page'
import { OneLineLogController } from './lib/request-log'
import { serverOptions, tlsFromEnv } from './lib/server'
import type { ServeDirAppOptions } from './plugins/serve-dir'
import type { LimitsOptions } from './plugins/limits'

export interface AppOptions
  extends FastifyServerOptions, Partial<AutoloadPluginOptions>, ServeDirAppOptions, LimitsOptions {}

// Server options, applied by `fastify start -o` (npm start passes it) and by test/helper.ts:
// limits, one line per request, and HTTPS and HTTP/2 when SERVE_DIR_TLS_CERT (and _KEY,
// _PASSWORD_FILE, SERVE_DIR_HTTP2=1) say so. The command builds its own from its flags.
const options: AppOptions = serverOptions({ ...tlsFromEnv(), logController: new OneLineLogController() })

const appPlugin: FastifyPluginAsync<AppOptions> = async (fastify, opts) => {
  fastify.setErrorHandler(errorHandler)
  fastify.setNotFoundHandler(notFoundHandler)
  // Node parses every method in http.METHODS; Fastify routes only those it knows. The app owns
  // the server: it teaches Fastify the rest (WebDAV's PROPFIND, PURGE, ...), so that the folder's
  // routes answer them 405, not 404 (the plugin's `methodNotAllowed`, on in plugins/serve-dir.ts)
  for (const m of METHODS) if (m !== 'CONNECT' && !fastify.supportedMethods.includes(m)) fastify.addHttpMethod(m)

  // eslint-disable-next-line no-void
  void fastify.register(AutoLoad, { dir: join(__dirname, 'plugins'), options: opts })
  // eslint-disable-next-line no-void
  void fastify.register(AutoLoad, { dir: join(__dirname, 'routes'), options: opts })
}

/**
 * The app is the server's root, not a scope of its own (skip-override): its 404 page answers every
 * URL, and `--prefix` (after `--`, or fastify start's `-x`) is where the folder is served, not a
 * route prefix Fastify would also put in front of it.
 */
const app = fp(appPlugin, { name: 'serve-dir-app' })

export default app
export { app, options }
