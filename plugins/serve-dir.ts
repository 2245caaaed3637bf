import { resolve } from 'node:path'
import fp from 'fastify-plugin'
import serveDir, { type ServeDirOptions } from '../lib/serve-dir'

/** The app's options for the folder it serves, as `fastify start dist/app.js -- --root DIR` passes them. */
export interface ServeDirAppOptions {
  /** Folder to serve, relative to the working directory. Default: `$ROOT`, else the working directory. */
  root?: string
  prefix?: string
  /** Index file names: an array, a comma-separated string, or `false`/`'false'` for none. */
  index?: string[] | string | false
  /** `false`/`'false'` turns listings off. */
  listing?: boolean | string
  dotfiles?: ServeDirOptions['dotfiles']
  symlinks?: ServeDirOptions['symlinks']
}

/** Maps command-line strings (`--listing false`, `--index a.html,b.html`) onto typed plugin options. */
export function toPluginOptions (opts: ServeDirAppOptions): ServeDirOptions {
  const { root, prefix, index, listing, dotfiles, symlinks } = opts
  return {
    root: resolve(process.cwd(), root ?? process.env.ROOT ?? '.'),
    prefix,
    index: index === 'false' || index === false ? false : typeof index === 'string' ? index.split(',') : index,
    listing: listing === 'false' ? false : listing === 'true' ? true : listing as boolean | undefined,
    dotfiles,
    symlinks
  }
}

export default fp<ServeDirAppOptions>(async (fastify, opts) => {
  const options = toPluginOptions(opts)
  // says which folder is served: `npm start -- --root x` (one `--`) is easy to get wrong
  fastify.log.info({ root: options.root, prefix: options.prefix ?? '/' }, 'serving folder')
  await fastify.register(serveDir, options)
}, { name: 'app-serve-dir' })
