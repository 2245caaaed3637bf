// The package's entry, in the shape of the official @fastify/* plugins: `require()` returns the
// plugin itself, with `.default` and `.serveDir` pointing to it and the error classes beside them,
// and the types say the same (`export =`), so `import serveDir from 'fastify-serve-dir'` is the
// plugin in an ES module, a CommonJS module and TypeScript's `nodenext` alike.
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
  export type Entry = api.Entry
  export type JsonListing = api.JsonListing
  export type SymlinkPolicy = api.SymlinkPolicy
  export const InvalidOptionError: typeof api.InvalidOptionError
  export const InvalidRootError: typeof api.InvalidRootError
  /** The 404 page (HTML or JSON, as the client asked), for `app.setNotFoundHandler()`. */
  export const notFoundHandler: typeof import('./error-page').notFoundHandler
  // the plugin with everything on it, as `require()` gives it: `serveDir.default.notFoundHandler`
  const plugin: typeof serveDir
  export { plugin as serveDir, plugin as default }
}

// fastify-plugin names the plugin and sets `.default` and `.serveDir` (the name in camelCase)
fp(serveDir, { fastify: '5.x', name: 'serve-dir' })
Object.assign(serveDir, { InvalidOptionError: api.InvalidOptionError, InvalidRootError: api.InvalidRootError, notFoundHandler })

export = serveDir

// Node's ES-module loader reads a CommonJS module's export names from its source text
// (cjs-module-lexer), not from the object: these lines name them for `import { serveDir }`; the
// values it takes from `module.exports`, the plugin, which carries them (above).
exports.default = exports.serveDir = exports.InvalidOptionError = exports.InvalidRootError = exports.notFoundHandler = undefined
