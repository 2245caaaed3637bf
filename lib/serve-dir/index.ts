// The package's entry, in the shape of the official @fastify/* plugins: `require()` returns the
// plugin itself, with `.default` and `.serveDir` pointing to it and the error classes beside them,
// and the types say the same (`export =`), so `import serveDir from 'fastify-serve-dir'` is the
// plugin in an ES module, a CommonJS module and TypeScript's `nodenext` alike.
//
// How a request flows, one file for each step:
//   plugin.ts          registration: the options checked (options.ts, one table), the responders
//                      made, and a child scope with the error page, @fastify/static, CORS,
//                      headers, nosniff and the routes
//   route.ts           decide(): the URL read (url.ts) and looked up under the root with the
//                      policies (fs/lookup.ts) -> file, redirect, index, listing, archive, spa, none
//   file/responder.ts  a file: small ones from memory; the others through @fastify/static's
//                      sendFile of a proven descriptor (fs/verified-open.ts); codings (http.ts)
//   listing/route.ts   a listing: read (folder.ts) and kept (lister.ts), rendered (render.ts)
//   archive/route.ts   ?download=: walked (walk.ts) and written (stream.ts), a few at once (slots.ts)
//   error-page.ts      every error, in the client's format (errors.ts; fs/errno.ts for the disk's)
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import * as api from './plugin'
import { notFoundHandler } from './error-page'

type ServeDirPlugin = FastifyPluginAsync<api.ServeDirOptions>

/** The serve-dir plugin: `app.register(serveDir, { root: '/srv/www' })`. */
function serveDir (...params: Parameters<ServeDirPlugin>): ReturnType<ServeDirPlugin> {
  return api.plugin(...params)
}

declare namespace serveDir {
  export type ServeDirOptions = api.ServeDirOptions
  export type UploadOptions = api.UploadOptions
  export type AuthOptions = api.AuthOptions
  export type LiveReloadOptions = api.LiveReloadOptions
  export type Entry = api.Entry
  export type JsonListing = api.JsonListing
  export type SymlinkPolicy = api.SymlinkPolicy
  export const InvalidOptionError: typeof api.InvalidOptionError
  export const InvalidRootError: typeof api.InvalidRootError
  /** The 404 page (HTML or JSON, as the client asked), for `app.setNotFoundHandler()`. */
  export const notFoundHandler: typeof import('./error-page').notFoundHandler
  /** An scrypt hash of a password, for `auth.users` (what `serve-dir --hash-password` prints). */
  export const hashPassword: typeof api.hashPassword
  /** A URL with its `?token=` value hidden, for a host's request log. */
  export const redactToken: typeof api.redactToken
  /** The user a request logged in as, if any. */
  export const userOf: typeof api.userOf
  // the plugin with everything on it, as `require()` gives it: `serveDir.default.notFoundHandler`
  const plugin: typeof serveDir
  export { plugin as serveDir, plugin as default }
}

// fastify-plugin names the plugin and sets `.default` and `.serveDir` (the name in camelCase)
fp(serveDir, { fastify: '5.x', name: 'serve-dir' })
Object.assign(serveDir, {
  InvalidOptionError: api.InvalidOptionError,
  InvalidRootError: api.InvalidRootError,
  notFoundHandler,
  hashPassword: api.hashPassword,
  redactToken: api.redactToken,
  userOf: api.userOf
})

export = serveDir

// Node's ES-module loader reads a CommonJS module's export names from its source text
// (cjs-module-lexer), not from the object: these lines name them for `import { serveDir }`; the
// values it takes from `module.exports`, the plugin, which carries them (above).
exports.default = exports.serveDir = exports.InvalidOptionError = exports.InvalidRootError = exports.notFoundHandler =
  exports.hashPassword = exports.redactToken = exports.userOf = undefined
