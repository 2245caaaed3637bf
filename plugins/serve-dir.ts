import { resolve } from 'node:path'
import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import serveDir, { InvalidOptionError, type ServeDirOptions } from '../lib/serve-dir'
import { OPTIONS } from '../lib/serve-dir/options'
import { headerLine } from '../lib/cli-args'
import { allowLongUploads } from '../lib/server'
import type { AddressInfo } from 'node:net'

/** The plugin options the app reads as words from the command line (the option table's `cli: 'words'`). */
type WordOptions = {
  [K in keyof ServeDirOptions as (typeof OPTIONS)[K]['cli'] extends 'words' ? K : never]?: ServeDirOptions[K] | string
}

/**
 * The app's options for the folder it serves, as `fastify start dist/app.js -- --root DIR` passes
 * them: numbers and switches may come as strings (`--max-age 3600`, `--compress false`,
 * `--immutable`), `--cors` alone is any origin, `--spa` alone is index.html.
 */
export interface ServeDirAppOptions extends WordOptions {
  /**
   * Folder to serve, relative to the folder `npm start` was typed in (`$INIT_CWD`, which npm sets;
   * else the working directory). Default: `$ROOT`, else that folder.
   */
  root?: string
  /** Index file names: an array, a comma-separated string, or `false`/`'false'` for none. */
  index?: string[] | string | false
  /** `--header 'Name: value'`, repeatable. */
  header?: string | string[]
  headers?: Record<string, string> | string | string[]
  /** `--upload [URLPATH]`, repeatable: uploads on below each path (alone: `/`). */
  upload?: string | boolean | Array<string | boolean>
  /** `--allowed-host NAME`, repeatable: a host name uploads may be addressed to. */
  allowedHost?: string | string[]
  /** The plugin's `uploads`, when the app is built in code. */
  uploads?: ServeDirOptions['uploads']
  /** `--auth-file PATH`: a login, for the users of an htpasswd file. */
  authFile?: string
  /** `--public-read`: with a login, anyone may read. */
  publicRead?: boolean | string
  /** The plugin's `auth`, when the app is built in code (or by the serve-dir command). */
  auth?: ServeDirOptions['auth']
}

/** A path from the command line, from where it was typed: npm runs scripts in the package's folder, INIT_CWD is where the user typed npm start. */
function typedPath (p: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), p)
}

/** `--auth-file PATH` (and `--public-read`) as the plugin's `auth`; else the `auth` given in code. */
export function authFrom (opts: Pick<ServeDirAppOptions, 'authFile' | 'publicRead' | 'auth'>): ServeDirOptions['auth'] {
  const publicRead = fromCli(opts.publicRead ?? false)
  if (opts.authFile === undefined) {
    if (publicRead !== false) throw new InvalidOptionError('publicRead', 'only with --auth-file')
    return opts.auth
  }
  let users: string
  try {
    users = readFileSync(typedPath(opts.authFile), 'utf8')
  } catch (err) {
    throw new InvalidOptionError('authFile', `${opts.authFile}: ${(err as Error).message}`)
  }
  return { users, publicRead: publicRead as boolean }
}

/**
 * What a person starting the server should know about who can reach it: uploads without a login,
 * or a login over plain HTTP, on an address other machines can reach.
 */
export function startupWarnings (
  address: string,
  options: Pick<ServeDirOptions, 'uploads' | 'auth' | 'liveReload'>,
  secure: boolean
): string[] {
  if (address === '::1' || address.startsWith('127.')) return []
  const login = options.auth !== undefined && options.auth !== false
  const warnings: string[] = []
  if (options.uploads !== undefined && options.uploads !== false && !login) {
    warnings.push('uploads are on and anyone who can reach this address can add files: --token or --auth USER asks for a login')
  }
  if (login && !secure) warnings.push('the login crosses the network unencrypted: --tls-cert and --tls-key serve HTTPS')
  if (options.liveReload !== undefined && options.liveReload !== false) {
    warnings.push('live reload is on: anyone who can reach this address can follow when files change (pages of other sites cannot)')
  }
  return warnings
}

/** `--upload` (alone or `true`: `/`; `false`: off) and `--allowed-host` as the plugin's `uploads`. */
export function uploadsFrom (opts: Pick<ServeDirAppOptions, 'upload' | 'allowedHost' | 'uploads'>): ServeDirOptions['uploads'] {
  const given = ([] as Array<string | boolean>).concat(opts.upload ?? []).filter((p) => p !== false && p !== 'false')
  if (given.length === 0) return opts.uploads
  const paths = given.map((p) => p === true || p === '' || p === 'true' ? '/' : p) as string[]
  return { paths, allowedHosts: ([] as string[]).concat(opts.allowedHost ?? []) }
}

/** `'true'`/`'false'` to booleans, whole-number strings to numbers; anything else is left for the plugin to refuse. */
function fromCli (value: unknown): unknown {
  if (value === 'true') return true
  if (value === 'false') return false
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value)
  return value
}

/** Maps command-line strings (`--listing false`, `--index a.html,b.html`) onto typed plugin options. */
export function toPluginOptions (opts: ServeDirAppOptions): ServeDirOptions {
  const { root, index } = opts
  const options: Record<string, unknown> = {
    root: typedPath(root ?? process.env.ROOT ?? '.'),
    index: index === 'false' || index === false ? false : typeof index === 'string' ? index.split(',') : index,
    // the app is the whole server: every other method on a served path is a 405
    methodNotAllowed: true
  }
  // the rest as the option table says: words as booleans and numbers
  for (const [key, spec] of Object.entries(OPTIONS)) {
    if (spec.cli === 'words') options[key] = fromCli(opts[key as keyof ServeDirAppOptions])
  }
  // --header 'Name: value', once or more; an object when the app is built in code
  const header = opts.header ?? opts.headers
  options.headers = typeof header === 'string' || Array.isArray(header)
    ? Object.fromEntries(([] as string[]).concat(header).map(headerLine))
    : header
  options.uploads = uploadsFrom(opts)
  options.auth = authFrom(opts)
  // --allowed-host names the machine for live reload's stream too
  if (options.liveReload === true && opts.allowedHost !== undefined) {
    options.liveReload = { allowedHosts: ([] as string[]).concat(opts.allowedHost) }
  }
  return options as unknown as ServeDirOptions
}

/**
 * Whether `--root` sits among fastify-cli's own arguments (before any `--`): `npm start -- --root x`
 * with one `--` hands it to fastify-cli, which drops it, and the app would serve another folder.
 */
export function misplacedRoot (argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--root' || a.startsWith('--root='))
}

/**
 * The arguments the process was started with. fastify-cli empties `process.argv` before loading the
 * app, so on Linux they are read from /proc; elsewhere whatever `process.argv` still holds.
 */
export function startArguments (cmdline: () => string = () => readFileSync('/proc/self/cmdline', 'utf8')): string[] {
  try {
    return cmdline().split('\0').slice(2, -1)
  } catch {
    return process.argv.slice(2)
  }
}

export default fp<ServeDirAppOptions>(async (fastify, opts) => {
  /* c8 ignore next 3 */ // only under fastify-cli: test/e2e/smoke.test.ts runs the real npm start, outside coverage
  if (opts.root === undefined && misplacedRoot(startArguments())) {
    throw new InvalidOptionError('root', 'it reached fastify-cli, not the app; write `npm start -- -- --root DIR` (two --)')
  }
  const options = toPluginOptions(opts)
  if (options.uploads !== undefined && options.uploads !== false) allowLongUploads(fastify.server)
  // says which folder is served, once listening (a failed start says only why it failed)
  fastify.addHook('onListen', async () => {
    fastify.log.info({ root: options.root, prefix: options.prefix ?? '/' }, 'serving folder')
    const address = (fastify.server.address() as AddressInfo).address
    for (const warning of startupWarnings(address, options, 'setSecureContext' in fastify.server)) fastify.log.warn({ address }, warning)
  })
  await fastify.register(serveDir, options)
}, { name: 'app-serve-dir' })
