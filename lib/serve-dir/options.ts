// The plugin's options, declared once. `ServeDirOptions` is their type; `OPTIONS` is their table:
// for each, the default as the README shows it, the check that turns a given value into the
// setting the plugin uses (with its default), and how the app reads it from the command line.
// Validation, defaults, the app's adapter (plugins/serve-dir.ts) and the README's option table
// (checked by test/lib/options.test.ts) all come from the table, and the compiler holds the table
// to the type: an option missing from either is an error.
import path from 'node:path'
import { realpath, stat } from 'node:fs/promises'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { InvalidOptionError, InvalidRootError } from './errors'
import { prefixToSegments } from './url'
import type { SymlinkPolicy } from './fs/lookup'
import { usersOf, type Verifier } from './auth/passwords'
import type { LiveSettings } from './live/route'

export interface ServeDirOptions {
  /** Absolute path of the folder to serve. Required; a relative path is an error, not a guess. */
  root: string
  /** URL path the folder is mounted at. Default `'/'`. */
  prefix?: string
  /**
   * File names that stand for their folder, tried in order; `false` turns index files off. Default
   * `['index.html', 'index.htm']`.
   */
  index?: string[] | false
  /** List a folder that has no index file; `false` answers 404 instead. Default `true`. */
  listing?: boolean
  /**
   * `'ignore'`: names starting with `.` are left out of listings and answered 404; `'allow'`:
   * served like any other. Default `'ignore'`.
   */
  dotfiles?: 'ignore' | 'allow'
  /**
   * `'inside'`: follow a link only when its real path stays under the real root, else 404;
   * `'follow'`: always; `'deny'`: never. Default `'inside'`.
   */
  symlinks?: SymlinkPolicy
  /**
   * Seconds a browser may reuse a response without asking; `0` sends `Cache-Control: no-cache`
   * (always revalidate). Default `0`.
   */
  maxAge?: number
  /** Add `immutable` to `Cache-Control` (only with `maxAge`), for fingerprinted assets. Default `false`. */
  immutable?: boolean
  /**
   * Compress text-like responses (files and listings) with brotli or gzip for clients that accept
   * it. Default `true`.
   */
  compress?: boolean
  /** Serve `name.br` / `name.gz` beside `name` to clients that accept them. Default `true`. */
  precompressed?: boolean
  /** Smallest response, in bytes, compressed on the fly. Default `1024`. */
  compressThreshold?: number
  /**
   * Responses compressed on the fly at once; beyond that they go out uncompressed (a cached
   * compressed form or a `.br`/`.gz` beside the file still is sent). Default `4`.
   */
  compressSlots?: number
  /** Of {@link compressSlots}, how many one client (one address, one IPv6 /64) may hold. Default `2`. */
  compressSlotsPerClient?: number
  /**
   * Bytes of small files kept in memory (each checked with a fresh stat on every request); `0`
   * turns it off. Default 64 MiB.
   */
  cacheBytes?: number
  /**
   * Send HTML, XHTML and SVG files as downloads (`Content-Disposition: attachment`), for folders
   * whose pages must not run on this origin. Default `false`.
   */
  downloadHtml?: boolean
  /** List folders before files, whatever the sort. Default `false` (Python's order mixes them). */
  dirsFirst?: boolean
  /**
   * Answer 405 (with `Allow`) to every method other than GET, HEAD (and OPTIONS) under the prefix.
   * Default `false`: the host's other routes and its 404 handler decide them (at prefix `/` that is
   * every URL of the host). The standalone app turns it on.
   */
  methodNotAllowed?: boolean
  /**
   * Headers added to successful responses (2xx, 304), never replacing one the server sets
   * (validators, types). Default none.
   */
  headers?: Record<string, string>
  /** CORS: `true` lets any origin read (`*`); an origin or a list of origins lets only those. Default `false`. */
  cors?: boolean | string | string[]
  /**
   * Single-page app: paths that look like its routes (no extension, a browser asking for HTML) get
   * this file, relative to `root`; `true` means `'index.html'`. Listings are off. Default `false`.
   */
  spa?: boolean | string
  /**
   * Folder downloads (`?download=zip` or `tar.gz`): `false` turns them off; otherwise limits on
   * what one archive may hold (`maxDepth`: folders one inside another). Default
   * `{ maxBytes: 4 GiB, maxEntries: 100000, maxDepth: 64 }`.
   */
  archives?: boolean | { maxBytes?: number, maxEntries?: number, maxDepth?: number }
  /**
   * Uploads (`PUT`, and the listing's form): `false` (the default) turns them off; `true` or an
   * object turns them on. See {@link UploadOptions}.
   */
  uploads?: boolean | UploadOptions
  /** A login for everything the plugin serves: `false` (the default) for none. See {@link AuthOptions}. */
  auth?: false | AuthOptions
  /**
   * Live reload: pages reload (stylesheets are swapped in place) when a file of the tree changes.
   * `false` (the default) turns it off; `true` or an object turns it on. See {@link LiveReloadOptions}.
   */
  liveReload?: boolean | LiveReloadOptions
}

/** How the tree is watched for live reload (`liveReload`). */
export interface LiveReloadOptions {
  /** Globs (picomatch) of paths below the root whose changes are not told. Default none. */
  ignore?: string[]
  /** Milliseconds of quiet after a change before the browsers are told (one reload per save). Default 150. */
  debounceMs?: number
  /**
   * Host names, beside IP literals, `localhost`, `*.localhost` and this machine's name, that the
   * event stream may be addressed to (a DNS-rebinding guard). Default none.
   */
  allowedHosts?: string[]
  /**
   * Folders watched at most (one inotify watch each, from the budget every process of the user
   * shares); changes in the others are not told. Default 10 000.
   */
  maxFolders?: number
  /** Event streams open at once (503 past it). Default 100. */
  maxStreams?: number
  /**
   * Event streams one client (counted as logins are: an address, an IPv6 /64) may hold at once
   * (429 past it). Default 10.
   */
  maxStreamsPerClient?: number
}

/** Who may log in (`auth`): users with passwords, a `?token=` link, or both. */
export interface AuthOptions {
  /**
   * Users and their password hashes: htpasswd text (`user:hash` lines) or an object of user to
   * hash. bcrypt (`htpasswd -nB`) or scrypt (`serve-dir --hash-password`); plain text is refused.
   */
  users?: string | Record<string, string>
  /** A secret of at least 16 characters: a link with `?token=` it logs a browser in with a cookie. */
  token?: string
  /** Anyone may read (GET, HEAD); only uploads need the login. Default `false`. */
  publicRead?: boolean
  /**
   * Failed logins from one client in a minute before it gets 429s. A client is the connection's
   * address, or the one a proxy trusted with Fastify's `trustProxy` saw; an IPv6 client its /64.
   * Default 5.
   */
  maxFailures?: number
  /**
   * Password checks one client may have running or waiting at once; more get 429 at once, so that
   * its flood delays another's first login by at most this many checks. Default 2.
   */
  maxPending?: number
  /**
   * Failed logins in a minute of all the clients one trusted proxy forwards, together, before they
   * get 429s: a client that reaches the port directly is believed as a proxy and names itself.
   * Default 20.
   */
  maxProxyFailures?: number
}

/** {@link AuthOptions} checked, the users' hashes ready to check. */
export interface AuthSettings {
  users: Map<string, Verifier>
  token: string | null
  publicRead: boolean
  maxFailures: number
  maxPending: number
  maxProxyFailures: number
}

/** Where and how files may be written (`uploads`). */
export interface UploadOptions {
  /** URL paths below the prefix where files may be written, each with the folders below it. Default `['/']`. */
  paths?: string[]
  /** A name that exists already: `'never'` replaced (409), `'rename'` kept beside as `name (1).ext`, `'always'` replaced. Default `'never'`. */
  overwrite?: 'never' | 'rename' | 'always'
  /** Largest upload, in bytes (413). Default 4 GiB. */
  maxBytes?: number
  /** Free space the disk keeps after an upload, in bytes (507). Default 256 MiB. */
  minFreeBytes?: number
  /** Make the missing folders of an upload's path (a dropped folder tree). Default `true`. */
  mkdir?: boolean
  /** Milliseconds an upload may go without a byte arriving before it is cut and removed. Default 30 000. */
  idleTimeout?: number
  /** Bytes a second an upload must average over each `idleTimeout`, or it is cut (408); `0`: no minimum. Default 1024. */
  minRate?: number
  /** Uploads under way at once, from all clients; more are 503. Default 32. */
  maxConcurrent?: number
  /** Uploads under way at once from one client address (an IPv6 /64); more are 429. Default 4. */
  maxPerClient?: number
  /** Folders an upload's file may lie below the served folder (each may be made); deeper is a 403. Default 32. */
  maxDepth?: number
  /**
   * Host names, beside IP literals, `localhost`, `*.localhost` and this machine's name, that a
   * write may be addressed to (a DNS-rebinding guard). Default none.
   */
  allowedHosts?: string[]
}

/** {@link UploadOptions} with every default filled in, paths as their segments. */
export interface UploadSettings {
  paths: string[][]
  overwrite: 'never' | 'rename' | 'always'
  maxBytes: number
  minFreeBytes: number
  mkdir: boolean
  idleTimeout: number
  minRate: number
  maxConcurrent: number
  maxPerClient: number
  maxDepth: number
  allowedHosts: string[]
}

/** One option: its default as the README shows it, its check, and how the app reads it from the command line. */
interface OptionSpec<T> {
  shown: string
  /** The setting for a given value (`undefined`: not given, so the default); throws {@link InvalidOptionError}. */
  check: (value: unknown, name: string) => T
  /**
   * `'words'`: the app turns `'true'`/`'false'` into booleans and whole-number strings into numbers
   * (`--max-age 3600`, `--compress false`); `'own'`: the app reads it in a way of its own (a path, a
   * list, header lines); `'app'`: the app decides it, it is not a command-line option.
   */
  cli: 'words' | 'own' | 'app'
  /** The words it may be, for an option that is one of a few (the command's flags offer them). */
  choices?: readonly string[]
}

const bool = (fallback: boolean): OptionSpec<boolean>['check'] => (value, name) => {
  const v = value ?? fallback
  if (typeof v !== 'boolean') throw new InvalidOptionError(name, 'must be a boolean')
  return v
}

const count = (fallback: number, least = 0): OptionSpec<number>['check'] => (value, name) => {
  const v = value ?? fallback
  if (typeof v !== 'number' || !Number.isSafeInteger(v) ||
      v < least) throw new InvalidOptionError(name, `must be a whole number, ${least} or more`)
  return v
}

/** A check for one of a few words; the first is the default. */
function oneOf<T extends string> (allowed: readonly T[]): OptionSpec<T>['check'] {
  return (value, name) => {
    if (value === undefined) return allowed[0]
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
    throw new InvalidOptionError(
      name,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`
    )
  }
}

function isPlainName (s: unknown): s is string {
  return typeof s === 'string' && s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0')
}

function rootOf (root: unknown): string {
  if (typeof root !== 'string' ||
      root === '') throw new InvalidOptionError('root', 'is required: the absolute path of the folder to serve')
  if (!path.isAbsolute(root)) throw new InvalidOptionError('root', `must be an absolute path, got ${JSON.stringify(root)} (resolve it against process.cwd() first)`)
  return root
}

/** The prefix as its segments. */
function prefixOf (prefix: unknown = '/'): string[] {
  if (typeof prefix !== 'string' || !/^\/[\w.~/-]*$/.test(prefix) ||
      prefixToSegments(prefix).some((s) => s === '.' || s === '..')) {
    throw new InvalidOptionError('prefix', `must be a URL path such as '/' or '/files', got ${JSON.stringify(prefix)}`)
  }
  return prefixToSegments(prefix)
}

function indexOf (index: unknown = ['index.html', 'index.htm']): string[] {
  if (index === false) return []
  if (!(Array.isArray(index) &&
      index.every(isPlainName))) throw new InvalidOptionError('index', 'must be false or an array of file names')
  return index
}

function headersOf (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null ||
      Array.isArray(value)) throw new InvalidOptionError('headers', 'must be an object of header names and values')
  for (const [k, v] of Object.entries(value)) {
    try {
      validateHeaderName(k)
      validateHeaderValue(k, v)
    } catch (err) {
      throw new InvalidOptionError('headers', (err as Error).message)
    }
    if (typeof v !== 'string') throw new InvalidOptionError('headers', `the value of ${k} must be a string`)
  }
  return value as Record<string, string>
}

function corsOf (value: unknown): false | true | string | string[] {
  if (value === undefined || value === false) return false
  if (value === true || (typeof value === 'string' && value !== '') ||
      (Array.isArray(value) && value.length > 0 && value.every((o) => typeof o === 'string'))) {
    return value as true | string | string[]
  }
  throw new InvalidOptionError('cors', 'must be true, an origin, or a list of origins')
}

/** The segments of the single-page app's page, or `null` when it is not one. */
function spaOf (value: unknown): string[] | null {
  if (value === undefined || value === false) return null
  const file = value === true ? 'index.html' : value
  if (typeof file !== 'string' || file === '' ||
      file.split('/').some((s) => s === '..' || s === '.') || path.isAbsolute(file)) {
    throw new InvalidOptionError('spa', 'must be true or a file name inside root, such as "index.html"')
  }
  return file.split('/').filter(Boolean)
}

function archivesOf (value: unknown): false | { maxBytes: number, maxEntries: number, maxDepth: number } {
  const limits = { maxBytes: 4 * 1024 ** 3, maxEntries: 100_000, maxDepth: 64 }
  if (value === undefined || value === true) return limits
  if (value === false) return false
  const bad = new InvalidOptionError('archives', 'must be a boolean or { maxBytes, maxEntries, maxDepth }')
  // checked before taking it apart: null cannot be destructured
  if (typeof value !== 'object' || value === null) throw bad
  const { maxBytes = limits.maxBytes, maxEntries = limits.maxEntries, maxDepth = limits.maxDepth, ...rest } = value as Record<string, unknown>
  if (Object.keys(rest).length > 0 || typeof maxBytes !== 'number' || typeof maxEntries !== 'number' ||
      !(maxBytes >= 0) || !(maxEntries >= 0) || !Number.isSafeInteger(maxDepth) || !((maxDepth as number) >= 0)) {
    throw bad
  }
  return { maxBytes, maxEntries, maxDepth: maxDepth as number }
}

const OVERWRITE = ['never', 'rename', 'always'] as const

function uploadsOf (value: unknown): false | UploadSettings {
  if (value === undefined || value === false) return false
  const opts = value === true ? {} : value
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new InvalidOptionError('uploads', 'must be a boolean or { paths, overwrite, maxBytes, minFreeBytes, mkdir, idleTimeout, minRate, maxConcurrent, maxPerClient, maxDepth, allowedHosts }')
  const { paths = ['/'], overwrite, maxBytes, minFreeBytes, mkdir, idleTimeout, minRate, maxConcurrent, maxPerClient, maxDepth, allowedHosts = [], ...rest } = opts as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new InvalidOptionError('uploads', `unknown key ${JSON.stringify(unknown)}`)
  if (!Array.isArray(paths) || paths.length === 0) throw new InvalidOptionError('uploads', 'paths must be a list of URL paths such as ["/"]')
  return {
    paths: paths.map((p) => {
      try {
        return prefixOf(p)
      } catch {
        throw new InvalidOptionError('uploads', `paths must be URL paths such as '/' or '/inbox', got ${JSON.stringify(p)}`)
      }
    }),
    overwrite: oneOf(OVERWRITE)(overwrite, 'uploads.overwrite'),
    maxBytes: count(4 * 1024 ** 3)(maxBytes, 'uploads.maxBytes'),
    minFreeBytes: count(256 * 1024 ** 2)(minFreeBytes, 'uploads.minFreeBytes'),
    mkdir: bool(true)(mkdir, 'uploads.mkdir'),
    idleTimeout: count(30_000, 1)(idleTimeout, 'uploads.idleTimeout'),
    minRate: count(1024)(minRate, 'uploads.minRate'),
    maxConcurrent: count(32, 1)(maxConcurrent, 'uploads.maxConcurrent'),
    maxPerClient: count(4, 1)(maxPerClient, 'uploads.maxPerClient'),
    maxDepth: count(32)(maxDepth, 'uploads.maxDepth'),
    allowedHosts: hostsOf(allowedHosts, 'uploads')
  }
}

function hostsOf (value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((h) => typeof h === 'string' && /^[a-z0-9.-]+$/i.test(h))) {
    throw new InvalidOptionError(name, 'allowedHosts must be a list of host names')
  }
  return value.map((h: string) => h.toLowerCase())
}

function liveReloadOf (value: unknown): false | LiveSettings {
  if (value === undefined || value === false) return false
  const opts = value === true ? {} : value
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new InvalidOptionError('liveReload', 'must be a boolean or { ignore, debounceMs, allowedHosts, maxFolders, maxStreams, maxStreamsPerClient }')
  const { ignore = [], debounceMs, allowedHosts = [], maxFolders, maxStreams, maxStreamsPerClient, ...rest } = opts as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new InvalidOptionError('liveReload', `unknown key ${JSON.stringify(unknown)}`)
  if (!Array.isArray(ignore) || !ignore.every((g) => typeof g === 'string' && g !== '')) {
    throw new InvalidOptionError('liveReload', 'ignore must be a list of globs such as ["dist/**"]')
  }
  return {
    ignore,
    debounceMs: count(150)(debounceMs, 'liveReload.debounceMs'),
    allowedHosts: hostsOf(allowedHosts, 'liveReload'),
    maxFolders: count(10_000)(maxFolders, 'liveReload.maxFolders'),
    maxStreams: count(100)(maxStreams, 'liveReload.maxStreams'),
    maxStreamsPerClient: count(10)(maxStreamsPerClient, 'liveReload.maxStreamsPerClient')
  }
}

function authOf (value: unknown): false | AuthSettings {
  if (value === undefined || value === false) return false
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError('auth', 'must be false or { users, token, publicRead, maxFailures, maxPending, maxProxyFailures }')
  const { users, token, publicRead, maxFailures, maxPending, maxProxyFailures, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new InvalidOptionError('auth', `unknown key ${JSON.stringify(unknown)}`)
  if (users === undefined && token === undefined) throw new InvalidOptionError('auth', 'needs users, a token or both')
  if (token !== undefined && (typeof token !== 'string' || !/^[A-Za-z0-9_-]{16,}$/.test(token))) {
    throw new InvalidOptionError('auth', 'token must be at least 16 letters, digits, - or _')
  }
  if (users !== undefined && typeof users !== 'string' && (typeof users !== 'object' || users === null || Array.isArray(users))) {
    throw new InvalidOptionError('auth', 'users must be htpasswd text or an object of user to hash')
  }
  let checked: Map<string, Verifier>
  try {
    checked = usersOf((users ?? {}) as string | Record<string, string>, 'auth.users')
  } catch (err) {
    throw new InvalidOptionError('auth', (err as Error).message)
  }
  if (users !== undefined && checked.size === 0) throw new InvalidOptionError('auth', 'users names no user')
  // none would let no password be checked at all
  if (maxPending === 0) throw new InvalidOptionError('auth.maxPending', 'must be 1 or more')
  return {
    users: checked,
    token: token ?? null,
    publicRead: bool(false)(publicRead, 'auth.publicRead'),
    maxFailures: count(5)(maxFailures, 'auth.maxFailures'),
    maxPending: count(2)(maxPending, 'auth.maxPending'),
    maxProxyFailures: count(20)(maxProxyFailures, 'auth.maxProxyFailures')
  }
}

const DOTFILES = ['ignore', 'allow'] as const
const SYMLINKS = ['inside', 'follow', 'deny'] as const satisfies readonly SymlinkPolicy[]

/** Every option, in the README's order. */
export const OPTIONS = {
  root: { shown: '(required)', check: rootOf, cli: 'own' },
  prefix: { shown: "`'/'`", check: prefixOf, cli: 'words' },
  index: { shown: "`['index.html', 'index.htm']`", check: indexOf, cli: 'own' },
  listing: { shown: '`true`', check: bool(true), cli: 'words' },
  dotfiles: { shown: "`'ignore'`", check: oneOf(DOTFILES), cli: 'words', choices: DOTFILES },
  symlinks: { shown: "`'inside'`", check: oneOf(SYMLINKS), cli: 'words', choices: SYMLINKS },
  maxAge: { shown: '`0`', check: count(0), cli: 'words' },
  immutable: { shown: '`false`', check: bool(false), cli: 'words' },
  compress: { shown: '`true`', check: bool(true), cli: 'words' },
  precompressed: { shown: '`true`', check: bool(true), cli: 'words' },
  compressThreshold: { shown: '`1024`', check: count(1024), cli: 'words' },
  compressSlots: { shown: '`4`', check: count(4), cli: 'words' },
  compressSlotsPerClient: { shown: '`2`', check: count(2), cli: 'words' },
  cacheBytes: { shown: '64 MiB', check: count(64 * 1024 * 1024), cli: 'words' },
  downloadHtml: { shown: '`false`', check: bool(false), cli: 'words' },
  dirsFirst: { shown: '`false`', check: bool(false), cli: 'words' },
  methodNotAllowed: { shown: '`false`', check: bool(false), cli: 'app' },
  headers: { shown: '`{}`', check: headersOf, cli: 'own' },
  cors: { shown: '`false`', check: corsOf, cli: 'words' },
  spa: { shown: '`false`', check: spaOf, cli: 'words' },
  archives: { shown: '`{ maxBytes: 4 GiB, maxEntries: 100000, maxDepth: 64 }`', check: archivesOf, cli: 'words' },
  uploads: { shown: '`false`', check: uploadsOf, cli: 'own' },
  auth: { shown: '`false`', check: authOf, cli: 'own' },
  liveReload: { shown: '`false`', check: liveReloadOf, cli: 'words' }
} as const satisfies { [K in keyof ServeDirOptions]-?: OptionSpec<unknown> }

/** Options Fastify's `register` itself takes, passed on to the plugin with ours. */
const REGISTER_OPTIONS = new Set(['logLevel', 'logSerializers'])

/** The options as the plugin uses them: each option's setting, and the root's real path. */
export type Settings = { [K in keyof typeof OPTIONS]: ReturnType<typeof OPTIONS[K]['check']> } & { realRoot: string }

/** Checks every option, gives each its default, and finds the root: fails with a named error. */
export async function settingsOf (opts: Record<string, unknown>): Promise<Settings> {
  for (const key of Object.keys(opts)) {
    if (!Object.hasOwn(OPTIONS, key) && !REGISTER_OPTIONS.has(key)) throw new InvalidOptionError(key, 'unknown option')
  }
  const settings = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, spec]) => [name, spec.check(opts[name], name)])
  ) as Omit<Settings, 'realRoot'>
  let realRoot: string
  try {
    realRoot = await realpath(settings.root)
  } catch (err) {
    throw new InvalidRootError(
      settings.root,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message
    )
  }
  if (!(await stat(realRoot)).isDirectory()) throw new InvalidRootError(settings.root, 'not a directory')
  return { ...settings, realRoot }
}
