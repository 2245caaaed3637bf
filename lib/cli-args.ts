// The serve-dir command line, read the way Python's `http.server` reads its own (argparse's rules
// and wording): pure, from the words to the options lib/command.ts serves with.
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { LEVELS } from './request-log'
import type { ServeDirOptions } from './serve-dir'
import { OPTIONS } from './serve-dir/options'
import type { LimitsOptions } from '../plugins/limits'

/** The usage line, wrapped at 80 columns as Python's argparse wraps it. */
export const USAGE = `usage: serve-dir [-h] [--version] [-b ADDRESS] [-d DIRECTORY] [-p VERSION]
                 [-l LEVEL] [-w N] [--log-format FORMAT] [-P] [--grace SECONDS]
                 [--qr] [--trust-proxy] [--tls-cert PATH] [--tls-key PATH]
                 [--tls-password-file PATH] [--http2]
                 [--http2-client-streams N] [-H HEADER]
                 [--cors [ORIGIN]] [--spa [FILE]] [--no-download]
                 [--prefix PATH] [--index NAMES] [--no-index] [--no-listing]
                 [--dotfiles POLICY] [--symlinks POLICY] [--dirs-first]
                 [--download-html] [--max-age SECONDS] [--cache-bytes BYTES]
                 [--max-connections N] [--upload [URLPATH]] [--max-uploads N]
                 [--max-client-uploads N] [--allowed-host NAME] [--auth USER]
                 [--auth-file PATH] [--token] [--public-read]
                 [--hash-password USER] [--open [PATH]] [--live-reload]
                 [--max-watched-folders N] [--max-live-streams N]
                 [port]`

export const HELP = `${USAGE}

Serve a folder over HTTP, like python -m http.server.

positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  --version             show the version and exit
  -b ADDRESS, --bind ADDRESS
                        bind to this address (default: 127.0.0.1, this machine
                        only; Python listens on all interfaces: use --bind
                        0.0.0.0 or --bind :: to share on the network)
  -d DIRECTORY, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p VERSION, --protocol VERSION
                        accepted for Python compatibility; HTTP/1.1 with
                        keep-alive is always spoken
  -l LEVEL, --log-level LEVEL
                        info (default) logs each request to stderr as Python
                        does; warn, error or silent log less; debug more
  -w N, --workers N     serve from N processes sharing the port, one per CPU
                        with 0 (default: 1); a worker that dies is replaced
  --log-format FORMAT   python (default on a terminal): Python's line per
                        request; json (default otherwise): one JSON line per
                        request; pretty: the JSON lines made readable
  -P, --pretty          the same as --log-format pretty
  --grace SECONDS       on Ctrl-C or SIGTERM, requests under way may finish
                        for this long before their connections are cut
                        (default: 5); a second signal exits at once
  --qr                  print a QR code of the network address on stderr, for
                        a phone's camera (with --bind 0.0.0.0 or ::)
  --trust-proxy         behind a reverse proxy: the client is the address it saw
                        (X-Forwarded-For's last entry), in logs and for the
                        login's limits
  --tls-cert PATH       serve HTTPS with this certificate (chain), PEM
  --tls-key PATH        its private key (default: in the certificate file)
  --tls-password-file PATH
                        a file whose first line is the key's password
  --http2               HTTP/2 (needs --tls-cert); HTTP/1.1 for old clients
  --http2-client-streams N
                        HTTP/2 streams one client address may have open at
                        once, over all its connections (default: 100)
  -H HEADER, --header HEADER
                        add 'Name: value' to successful responses; repeatable;
                        never replaces the server's own validators
  --cors [ORIGIN]       let pages of any origin (or only ORIGIN) fetch files
  --spa [FILE]          single-page app: paths that look like its routes get
                        FILE (default: index.html); no listings
  --no-download         no folder downloads (?download=zip, ?download=tar.gz)
  --prefix PATH         serve the folder under this URL path (default: /)
  --index NAMES         a folder's page: the first of these comma-separated
                        names it holds (default: index.html,index.htm)
  --no-index            no index pages: every folder is listed
  --no-listing          a folder without an index page is a 404, not a list
  --dotfiles POLICY     ignore (default): names starting with . are hidden
                        and answered 404; allow: served like any other
  --symlinks POLICY     inside (default): follow links that stay in the
                        folder; follow: any link; deny: none
  --dirs-first          list folders before files
  --download-html       send HTML, XHTML and SVG files as downloads, so that
                        their scripts never run on this origin
  --max-age SECONDS     let browsers reuse files this long without asking
                        (default: 0, always revalidate)
  --cache-bytes BYTES   keep compressed forms of small files, up to BYTES in
                        all (default: 67108864, 64 MiB); 0: read every file
                        as it is asked for, compress it each time
  --max-connections N   hold at most N connections at once (default: no limit)
  --upload [URLPATH]    let visitors (with a login: those logged in) add files
                        below URLPATH (default: /) with PUT or the listing's
                        form; repeatable; an existing file is never replaced
  --max-uploads N       with --upload: at most N uploads under way at once
                        (default: 32); more are told to retry (503)
  --max-client-uploads N
                        with --upload: at most N under way from one address
                        (default: 4); more are told to retry (429)
  --allowed-host NAME   a host name uploads and live reload may be addressed to,
                        beside IP addresses, localhost and this machine's
                        name; repeatable
  --auth USER           ask for a login: USER, with the password typed at the
                        start (not shown) or taken from $SERVE_DIR_PASSWORD
  --auth-file PATH      ask for a login: the users of an htpasswd file (bcrypt
                        from htpasswd -nB, or lines from --hash-password)
  --token               ask for a login: print a link holding a secret token;
                        opening it logs the browser in
  --public-read         with a login: anyone may read, only uploads need it
  --hash-password USER  print an htpasswd line for USER (the password typed,
                        or $SERVE_DIR_PASSWORD) and exit
  --open [PATH]         open the folder (or the URL path PATH) in the desktop's
                        browser, logged in when --token is given
  --live-reload         reload the pages open in browsers when a file changes
                        (a stylesheet is swapped in place); not with -w
  --max-watched-folders N
                        with --live-reload: watch at most N folders (default:
                        10000); changes in the others are not told
  --max-live-streams N  with --live-reload: at most N browsers listening at
                        once (default: 100, and 10 per client address)

Logs go to stderr. There is no --cgi: CGI is not supported.
`

export interface CliOptions {
  port: number
  /** The port came from the command line (a busy default may move on; a given one may not). */
  portGiven: boolean
  host: string
  directory: string
  logLevel: string
  /** python: Python's line per request; json: pino's JSON, one line per request; pretty: pino-pretty. */
  logFormat: LogFormat
  /** Processes sharing the port: 1 (default) is just this one; 0 means one per CPU. */
  workers: number
  /** How long in-flight requests may take to finish after SIGINT/SIGTERM. */
  graceMs: number
  /** Believe X-Forwarded-For and friends (behind a reverse proxy). */
  trustProxy: boolean
  /** A QR code of the first network address under the first line. */
  qr: boolean
  /** HTTPS: file names of the certificate (chain), the key, and a file holding the key's password. */
  tls?: { cert: string, key?: string, passwordFile?: string }
  /** HTTP/2 (with TLS), HTTP/1.1 for clients that do not offer h2. */
  http2: boolean
  /** The app's options for the folder (plugin options, and the app's connection limit). */
  plugin: Partial<ServeDirOptions> & LimitsOptions
  /** Who may log in, before its password is read and its token made (start() does both). */
  login?: { user?: string, file?: string, token: boolean, publicRead: boolean }
  /** `--hash-password USER`: print a line for USER and exit. */
  hashPasswordFor?: string
  /** `--open [PATH]`: the URL path to open in the desktop's browser once serving. */
  open?: string
}

type LogFormat = 'python' | 'json' | 'pretty'
const LOG_FORMATS: readonly LogFormat[] = ['python', 'json', 'pretty']

/** A usage mistake: printed with the usage line, exit status 2 (as Python's argparse does). */
export class UsageError extends Error {}

/** Parses the command line the way Python's `http.server` does; `null` means `--help` (`--version` is start()'s). */
export function parseCli (argv: string[]): CliOptions | null {
  let parsed
  try {
    parsed = parseArgs({
      args: optionalValues(argv),
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        bind: { type: 'string', short: 'b', default: '127.0.0.1' },
        directory: { type: 'string', short: 'd', default: process.cwd() },
        protocol: { type: 'string', short: 'p' },
        'log-level': { type: 'string', short: 'l', default: 'info' },
        workers: { type: 'string', short: 'w', default: '1' },
        'log-format': { type: 'string', default: process.stderr.isTTY ? 'python' : 'json' },
        pretty: { type: 'boolean', short: 'P' },
        grace: { type: 'string', default: '5' },
        'trust-proxy': { type: 'boolean' },
        qr: { type: 'boolean' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-password-file': { type: 'string' },
        http2: { type: 'boolean' },
        header: { type: 'string', short: 'H', multiple: true, default: [] },
        cors: { type: 'string' },
        spa: { type: 'string' },
        'no-download': { type: 'boolean' },
        version: { type: 'boolean' },
        prefix: { type: 'string' },
        index: { type: 'string' },
        'no-index': { type: 'boolean' },
        'no-listing': { type: 'boolean' },
        dotfiles: { type: 'string' },
        symlinks: { type: 'string' },
        'dirs-first': { type: 'boolean' },
        'download-html': { type: 'boolean' },
        'max-age': { type: 'string' },
        'cache-bytes': { type: 'string' },
        'max-connections': { type: 'string' },
        'http2-client-streams': { type: 'string' },
        upload: { type: 'string', multiple: true, default: [] },
        'max-uploads': { type: 'string' },
        'max-client-uploads': { type: 'string' },
        'allowed-host': { type: 'string', multiple: true, default: [] },
        auth: { type: 'string' },
        'auth-file': { type: 'string' },
        token: { type: 'boolean' },
        'public-read': { type: 'boolean' },
        'hash-password': { type: 'string' },
        open: { type: 'string' },
        'live-reload': { type: 'boolean' },
        'max-watched-folders': { type: 'string' },
        'max-live-streams': { type: 'string' },
        cgi: { type: 'boolean' }
      }
    })
  } catch (err) {
    throw new UsageError(argparseWording(err as NodeJS.ErrnoException))
  }
  const { values, positionals } = parsed
  if (values.help === true) return null
  if (values.cgi === true) throw new UsageError('argument --cgi: CGI is not supported')
  if (values.protocol !== undefined && !/^HTTP\/1\.[01]$/.test(values.protocol)) {
    // -p is a port for many servers (and for fastify start): say where the port goes
    const hint = /^\d+$/.test(values.protocol)
      ? ` (the port needs no flag: serve-dir ${values.protocol})`
      : ' (HTTP/1.0 or HTTP/1.1)'
    throw new UsageError(`argument -p/--protocol: invalid version: '${values.protocol}'${hint}`)
  }
  if (positionals.length > 1) throw new UsageError(`unrecognized arguments: ${positionals.slice(1).join(' ')}`)
  const logLevel = values['log-level']
  if (!LEVELS.includes(logLevel)) throw new UsageError(`argument -l/--log-level: invalid choice: '${logLevel}' (choose from ${LEVELS.join(', ')})`)
  const portText = positionals[0] ?? '8000'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`argument port: invalid port: '${portText}'`)
  const workers = Number(values.workers)
  if (!/^\d{1,3}$/.test(values.workers)) throw new UsageError(`argument -w/--workers: invalid number: '${values.workers}'`)
  const logFormat = values.pretty === true ? 'pretty' : values['log-format']
  if (!LOG_FORMATS.includes(logFormat as LogFormat)) throw new UsageError(`argument --log-format: invalid choice: '${logFormat}' (choose from ${LOG_FORMATS.join(', ')})`)
  if (!/^\d{1,4}(\.\d+)?$/.test(values.grace)) throw new UsageError(`argument --grace: invalid number of seconds: '${values.grace}'`)
  // Python 3.14's rules: a key or a password means nothing without a certificate
  if (values['tls-cert'] === undefined) {
    if (values['tls-key'] !== undefined) throw new UsageError('argument --tls-key: requires --tls-cert')
    if (values['tls-password-file'] !== undefined) throw new UsageError('argument --tls-password-file: requires --tls-cert')
    if (values.http2 === true) throw new UsageError('argument --http2: requires --tls-cert (browsers speak HTTP/2 over TLS only)')
  }
  const headers: Record<string, string> = {}
  for (const h of values.header) {
    if (h.indexOf(':') < 1) throw new UsageError(`argument -H/--header: expected 'Name: value', got '${h}'`)
    const [name, value] = headerLine(h)
    headers[name] = value
  }
  const login = loginOf(values, workers)
  // each process would watch the tree and hold streams of its own: one is enough for a preview
  if (workers !== 1 && values['live-reload'] === true) throw new UsageError('argument -w/--workers: not allowed with argument --live-reload')
  return {
    ...(login === undefined ? {} : { login }),
    ...(values['hash-password'] === undefined ? {} : { hashPasswordFor: values['hash-password'] }),
    ...(values.open === undefined ? {} : { open: values.open === '/' && values.prefix !== undefined ? values.prefix.replace(/\/?$/, '/') : values.open }),
    port,
    portGiven: positionals.length > 0,
    host: values.bind,
    directory: resolve(values.directory),
    logLevel,
    logFormat: logFormat as LogFormat,
    workers,
    graceMs: Number(values.grace) * 1000,
    trustProxy: values['trust-proxy'] === true,
    qr: values.qr === true,
    tls: values['tls-cert'] === undefined
      ? undefined
      : { cert: values['tls-cert'], key: values['tls-key'], passwordFile: values['tls-password-file'] },
    http2: values.http2 === true,
    plugin: {
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(values.cors === undefined ? {} : { cors: values.cors === '*' ? true : values.cors }),
      ...(values.spa === undefined ? {} : { spa: values.spa }),
      ...(values['no-download'] === true ? { archives: false } : {}),
      ...(values.upload.length === 0 ? {} : { uploads: { paths: values.upload, allowedHosts: values['allowed-host'], ...uploadSlots(values) } }),
      ...liveReloadOf(values),
      ...folderOptions(values)
    }
  }
}

/** `--max-uploads` and `--max-client-uploads` as the plugin's `uploads` keys, checked as argparse would. */
function uploadSlots (values: Record<string, unknown>): { maxConcurrent?: number, maxPerClient?: number } {
  const out: { maxConcurrent?: number, maxPerClient?: number } = {}
  for (const [flag, key] of [['max-uploads', 'maxConcurrent'], ['max-client-uploads', 'maxPerClient']] as const) {
    const v = values[flag] as string | undefined
    if (v === undefined) continue
    if (!/^[1-9]\d{0,8}$/.test(v)) throw new UsageError(`argument --${flag}: invalid number, 1 or more: '${v}'`)
    out[key] = Number(v)
  }
  return out
}

/** `--auth`, `--auth-file`, `--token` and `--public-read`, checked as argparse would. */
function loginOf (values: Record<string, unknown>, workers: number): CliOptions['login'] {
  const user = values.auth as string | undefined
  const file = values['auth-file'] as string | undefined
  const token = values.token === true
  if (user !== undefined && file !== undefined) throw new UsageError('argument --auth: not allowed with argument --auth-file')
  if (user === undefined && file === undefined && !token) {
    if (values['public-read'] === true) throw new UsageError('argument --public-read: only with --auth, --auth-file or --token')
    return undefined
  }
  // each process would ask for the password, or make a token, of its own
  if (workers !== 1 && (user !== undefined || token)) throw new UsageError(`argument -w/--workers: not allowed with argument ${token ? '--token' : '--auth'} (--auth-file is)`)
  return { user, file, token, publicRead: values['public-read'] === true }
}

/** `--live-reload` and the bounds that go with it. */
function liveReloadOf (values: Record<string, unknown>): Pick<ServeDirOptions, 'liveReload'> {
  const bounds: { maxFolders?: number, maxStreams?: number } = {}
  for (const [flag, key] of [['max-watched-folders', 'maxFolders'], ['max-live-streams', 'maxStreams']] as const) {
    const v = values[flag] as string | undefined
    if (v === undefined) continue
    if (values['live-reload'] !== true) throw new UsageError(`argument --${flag}: only with --live-reload`)
    if (!/^\d{1,9}$/.test(v)) throw new UsageError(`argument --${flag}: invalid whole number: '${v}'`)
    bounds[key] = Number(v)
  }
  return values['live-reload'] === true ? { liveReload: { allowedHosts: values['allowed-host'] as string[], ...bounds } } : {}
}

/** The plugin's own choices, as its option table declares them. */
const POLICIES = { dotfiles: OPTIONS.dotfiles.choices, symlinks: OPTIONS.symlinks.choices }

/** The flags that choose what a URL serves: the plugin's options, checked as argparse would. */
function folderOptions (
  values: Record<string, string | boolean | string[] | undefined>
): Partial<ServeDirOptions> & LimitsOptions {
  const out: Partial<ServeDirOptions> & LimitsOptions = {}
  const whole = (flag: string): number | undefined => {
    const v = values[flag] as string | undefined
    if (v === undefined) return undefined
    if (!/^\d{1,15}$/.test(v)) throw new UsageError(`argument --${flag}: invalid whole number: '${v}'`)
    return Number(v)
  }
  for (const name of ['dotfiles', 'symlinks'] as const) {
    const v = values[name] as string | undefined
    if (v === undefined) continue
    if (!(POLICIES[name] as readonly string[]).includes(v)) throw new UsageError(`argument --${name}: invalid choice: '${v}' (choose from ${POLICIES[name].join(', ')})`)
    out[name] = v as never
  }
  if (values.prefix !== undefined) out.prefix = values.prefix as string
  if (values.index !== undefined &&
      values['no-index'] === true) throw new UsageError('argument --no-index: not allowed with argument --index')
  if (values.index !== undefined) out.index = (values.index as string).split(',')
  if (values['no-index'] === true) out.index = false
  if (values['no-listing'] === true) out.listing = false
  for (const flag of ['max-uploads', 'max-client-uploads']) {
    if (values[flag] !== undefined && (values.upload as string[]).length === 0) throw new UsageError(`argument --${flag}: only with --upload`)
  }
  if ((values['allowed-host'] as string[]).length > 0 && (values.upload as string[]).length === 0 &&
      values['live-reload'] !== true) throw new UsageError('argument --allowed-host: only with --upload or --live-reload')
  if (values['dirs-first'] === true) out.dirsFirst = true
  if (values['download-html'] === true) out.downloadHtml = true
  const maxAge = whole('max-age')
  if (maxAge !== undefined) out.maxAge = maxAge
  const cacheBytes = whole('cache-bytes')
  if (cacheBytes !== undefined) out.cacheBytes = cacheBytes
  const maxConnections = whole('max-connections')
  if (maxConnections !== undefined) out.maxConnections = maxConnections
  const clientStreams = whole('http2-client-streams')
  if (clientStreams === 0) throw new UsageError('argument --http2-client-streams: must be at least 1')
  if (clientStreams !== undefined) out.http2ClientStreams = clientStreams
  return out
}

/** The version in package.json, found by the package's own name (from the sources and from dist/ alike). */
export function packageVersion (): string {
  return (require('fastify-serve-dir/package.json') as { version: string }).version
}

/**
 * `--cors [ORIGIN]` and `--spa [FILE]` take a value only when the next word is one (an origin
 * has `://`, a file a `.`), so `--cors 8000` still means "any origin, port 8000".
 */
function optionalValues (argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = argv[i + 1]
    if (a === '--cors') out.push('--cors=' + (next !== undefined && (next.includes('://') || next === '*') ? argv[++i] : '*'))
    else if (a === '--upload' || a === '--open') out.push(a + '=' + (next?.startsWith('/') === true ? argv[++i] : '/'))
    else if (a === '--spa') out.push('--spa=' + (next !== undefined && !next.startsWith('-') && next.includes('.') && !/^\d+$/.test(next) ? argv[++i] : 'index.html'))
    else out.push(a)
  }
  return out
}

/** node:util's parseArgs messages, worded as Python's argparse words them. */
function argparseWording (err: NodeJS.ErrnoException): string {
  // "Unknown option '--zz'. ...", "Option '-b, --bind <value>' argument missing",
  // "Option '--cgi' does not take an argument"
  const quoted = (/'([^']+)'/.exec(err.message) as RegExpExecArray)[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unrecognized arguments: ${quoted}`
  const names = quoted.replace(' <value>', '').replace(', ', '/')
  return `argument ${names}: ${err.message.endsWith('argument missing') ? 'expected one argument' : 'ignored explicit argument'}`
}

/** `'Name: value'` as `[name, value]`, trimmed; without a colon the name is `''` (refused by the plugin). */
export function headerLine (line: string): [string, string] {
  const colon = line.indexOf(':')
  return [line.slice(0, Math.max(0, colon)).trim(), line.slice(colon + 1).trim()]
}
