import path from 'node:path'
import { realpath, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { create as createDisposition } from 'content-disposition'
import type { Stats } from 'node:fs'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { ArchiveTooLargeError, ArchivesOffError, BadPathError, ClientGoneError, BadQueryError, InvalidOptionError, InvalidRootError, MethodNotAllowedError, NotFoundError } from './errors'
import { directoryLocation, displayPath, isHidden, parseRequestUrl, prefixToSegments } from './url'
import { lookup, type SymlinkPolicy } from './fs/lookup'
import { FileResponder } from './file/responder'
import { Lister, type Format, type Rendered } from './listing/lister'
import { LISTING_CSP, breadcrumbs, renderHtml } from './listing/render'
import { ASSETS, ASSET_DIR } from './listing/assets'
import fresh from 'fresh'
import { cacheControl, pickEncoding, type Coding } from './http'
import { CODINGS, compressBuffer, compressor } from './coding'
import { ARCHIVE_TYPES, archive, zipSafe, type ArchiveFormat } from './archive/stream'
import { Slots } from './slots'
import { addVary, errorHandler, handOverMiss, isMiss, preferredListing } from './error-page'

export { InvalidOptionError, InvalidRootError } from './errors'
export type { Entry, JsonListing } from './listing/render'
export type { SymlinkPolicy } from './fs/lookup'

export interface ServeDirOptions {
  /** Absolute path of the folder to serve. Required; a relative path is an error, not a guess. */
  root: string
  /** URL path the folder is mounted at. Default `'/'`. */
  prefix?: string
  /** File names that stand for their folder, tried in order; `false` turns index files off. Default `['index.html', 'index.htm']`. */
  index?: string[] | false
  /** List a folder that has no index file; `false` answers 404 instead. Default `true`. */
  listing?: boolean
  /** `'ignore'`: names starting with `.` are left out of listings and answered 404; `'allow'`: served like any other. Default `'ignore'`. */
  dotfiles?: 'ignore' | 'allow'
  /** `'inside'`: follow a link only when its real path stays under the real root, else 404; `'follow'`: always; `'deny'`: never. Default `'inside'`. */
  symlinks?: SymlinkPolicy
  /** Seconds a browser may reuse a response without asking; `0` sends `Cache-Control: no-cache` (always revalidate). Default `0`. */
  maxAge?: number
  /** Add `immutable` to `Cache-Control` (only with `maxAge`), for fingerprinted assets. Default `false`. */
  immutable?: boolean
  /** Compress text-like responses (files and listings) with brotli or gzip for clients that accept it. Default `true`. */
  compress?: boolean
  /** Serve `name.br` / `name.gz` beside `name` to clients that accept them. Default `true`. */
  precompressed?: boolean
  /** Smallest response, in bytes, compressed on the fly. Default `1024`. */
  compressThreshold?: number
  /** Bytes of small files kept in memory (each checked with a fresh stat on every request); `0` turns it off. Default 64 MiB. */
  cacheBytes?: number
  /** Send HTML, XHTML and SVG files as downloads (`Content-Disposition: attachment`), for folders whose pages must not run on this origin. Default `false`. */
  downloadHtml?: boolean
  /** List folders before files, whatever the sort. Default `false` (Python's order mixes them). */
  dirsFirst?: boolean
  /**
   * Answer 405 (with `Allow`) to every method other than GET, HEAD (and OPTIONS) under the prefix.
   * Default `false`: the host's other routes and its 404 handler decide them (at prefix `/` that is
   * every URL of the host). The standalone app turns it on.
   */
  methodNotAllowed?: boolean
  /** Headers added to successful responses (2xx, 304), never replacing one the server sets (validators, types). Default none. */
  headers?: Record<string, string>
  /** CORS: `true` lets any origin read (`*`); an origin or a list of origins lets only those. Default `false`. */
  cors?: boolean | string | string[]
  /** Single-page app: paths that look like its routes (no extension, a browser asking for HTML) get this file, relative to `root`; `true` means `'index.html'`. Listings are off. Default `false`. */
  spa?: boolean | string
  /** Folder downloads (`?download=zip` or `tar.gz`): `false` turns them off; otherwise limits on what one archive may hold. Default `{ maxBytes: 4 GiB, maxEntries: 100000 }`. */
  archives?: boolean | { maxBytes?: number, maxEntries?: number }
}

interface Settings {
  realRoot: string
  prefixSegments: string[]
  index: string[]
  listing: boolean
  showHidden: boolean
  symlinks: SymlinkPolicy
  maxAge: number
  immutable: boolean
  compress: boolean
  precompressed: boolean
  compressThreshold: number
  cacheBytes: number
  downloadHtml: boolean
  dirsFirst: boolean
  methodNotAllowed: boolean
  headers: Record<string, string>
  cors: false | true | string | string[]
  /** Segments of the fallback page, or `null` when it is not a single-page app. */
  spa: string[] | null
  archives: false | { maxBytes: number, maxEntries: number }
}

const OPTION_NAMES = new Set(['root', 'prefix', 'index', 'listing', 'dotfiles', 'symlinks', 'maxAge', 'immutable', 'compress',
  'precompressed', 'compressThreshold', 'cacheBytes', 'downloadHtml', 'dirsFirst', 'methodNotAllowed', 'headers', 'cors', 'spa', 'archives', 'logLevel', 'logSerializers'])
/** Files up to this size may be kept whole in memory. */
const CACHE_FILE_BYTES = 1024 * 1024
const ALLOWED_METHODS = 'GET, HEAD'

function oneOf<T extends string> (name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new InvalidOptionError(name, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`)
}

function isPlainName (s: unknown): s is string {
  return typeof s === 'string' && s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0')
}

async function settingsOf (opts: Record<string, unknown>): Promise<Settings> {
  for (const key of Object.keys(opts)) {
    if (!OPTION_NAMES.has(key)) throw new InvalidOptionError(key, 'unknown option')
  }
  const { root, prefix = '/', index = ['index.html', 'index.htm'] } = opts
  if (typeof root !== 'string' || root === '') throw new InvalidOptionError('root', 'is required: the absolute path of the folder to serve')
  if (!path.isAbsolute(root)) throw new InvalidOptionError('root', `must be an absolute path, got ${JSON.stringify(root)} (resolve it against process.cwd() first)`)
  if (typeof prefix !== 'string' || !/^\/[\w.~/-]*$/.test(prefix) || prefixToSegments(prefix).some((s) => s === '.' || s === '..')) {
    throw new InvalidOptionError('prefix', `must be a URL path such as '/' or '/files', got ${JSON.stringify(prefix)}`)
  }
  if (index !== false && !(Array.isArray(index) && index.every(isPlainName))) {
    throw new InvalidOptionError('index', 'must be false or an array of file names')
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const v = opts[name] ?? fallback
    if (typeof v !== 'boolean') throw new InvalidOptionError(name, 'must be a boolean')
    return v
  }
  const count = (name: string, fallback: number): number => {
    const v = opts[name] ?? fallback
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidOptionError(name, 'must be a whole number, 0 or more')
    return v
  }
  const dotfiles = oneOf('dotfiles', opts.dotfiles, ['ignore', 'allow'], 'ignore')
  const symlinks = oneOf('symlinks', opts.symlinks, ['inside', 'follow', 'deny'], 'inside')

  let realRoot: string
  try {
    realRoot = await realpath(root)
  } catch (err) {
    throw new InvalidRootError(root, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message)
  }
  if (!(await stat(realRoot)).isDirectory()) throw new InvalidRootError(root, 'not a directory')

  return {
    realRoot,
    prefixSegments: prefixToSegments(prefix),
    index: index === false ? [] : index,
    listing: bool('listing', true),
    showHidden: dotfiles === 'allow',
    symlinks,
    maxAge: count('maxAge', 0),
    immutable: bool('immutable', false),
    compress: bool('compress', true),
    precompressed: bool('precompressed', true),
    compressThreshold: count('compressThreshold', 1024),
    cacheBytes: count('cacheBytes', 64 * 1024 * 1024),
    downloadHtml: bool('downloadHtml', false),
    dirsFirst: bool('dirsFirst', false),
    methodNotAllowed: bool('methodNotAllowed', false),
    headers: headersOf(opts.headers),
    cors: corsOf(opts.cors),
    spa: spaOf(opts.spa),
    archives: archivesOf(opts.archives)
  }
}

function headersOf (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError('headers', 'must be an object of header names and values')
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

function corsOf (value: unknown): Settings['cors'] {
  if (value === undefined || value === false) return false
  if (value === true || (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0 && value.every((o) => typeof o === 'string'))) return value as Settings['cors']
  throw new InvalidOptionError('cors', 'must be true, an origin, or a list of origins')
}

function spaOf (value: unknown): string[] | null {
  if (value === undefined || value === false) return null
  const file = value === true ? 'index.html' : value
  if (typeof file !== 'string' || file === '' || file.split('/').some((s) => s === '..' || s === '.') || path.isAbsolute(file)) {
    throw new InvalidOptionError('spa', 'must be true or a file name inside root, such as "index.html"')
  }
  return file.split('/').filter(Boolean)
}

function archivesOf (value: unknown): Settings['archives'] {
  const limits = { maxBytes: 4 * 1024 ** 3, maxEntries: 100_000 }
  if (value === undefined || value === true) return limits
  if (value === false) return false
  const bad = new InvalidOptionError('archives', 'must be a boolean or { maxBytes, maxEntries }')
  // checked before taking it apart: null cannot be destructured
  if (typeof value !== 'object' || value === null) throw bad
  const { maxBytes = limits.maxBytes, maxEntries = limits.maxEntries, ...rest } = value as Record<string, unknown>
  if (Object.keys(rest).length > 0 ||
      typeof maxBytes !== 'number' || typeof maxEntries !== 'number' || !(maxBytes >= 0) || !(maxEntries >= 0)) {
    throw bad
  }
  return { maxBytes, maxEntries }
}

/**
 * Serves a directory tree like Python's `http.server`, done properly: index files, listings in HTML
 * or JSON, 301 to add a directory's slash, and nothing outside `root` ever reachable.
 * `index.ts` gives it its name and the package's shape.
 */
export const plugin: FastifyPluginAsync<ServeDirOptions> = async (fastify, opts) => {
  const settings = await settingsOf(opts as unknown as Record<string, unknown>)
  const { realRoot, prefixSegments, symlinks } = settings
  // as @fastify/static: the prefix is below that of the scope the plugin is registered in
  // (`app.register(scope => scope.register(serveDir, opts), { prefix: '/files' })`, or fastify
  // start's --prefix); routes are declared below it, URLs are read and written from the top
  if (/[:*]/.test(fastify.prefix)) throw new InvalidOptionError('prefix', `the enclosing route prefix must be a plain path, got ${JSON.stringify(fastify.prefix)}`)
  const mount = [...prefixToSegments(fastify.prefix), ...prefixSegments]
  const hide = !settings.showHidden
  const windows = process.platform === 'win32'
  const files = new FileResponder({
    maxAge: settings.maxAge,
    immutable: settings.immutable,
    compress: settings.compress,
    precompressed: settings.precompressed,
    threshold: settings.compressThreshold,
    cacheFileBytes: Math.min(CACHE_FILE_BYTES, settings.cacheBytes),
    cacheTotalBytes: settings.cacheBytes,
    cacheEntries: 10000,
    downloadHtml: settings.downloadHtml
  }, (dir, name) => lookup(realRoot, dir, [name], symlinks, hide), symlinks !== 'follow')
  const lister = new Lister(realRoot, symlinks, settings.showHidden)
  /** Folder downloads made at once (2), and how many may wait for a turn (8); more are 503. */
  const archiveTurns = new Slots('folder downloads', 2, 8)
  const listingCacheControl = cacheControl({ maxAge: 0, immutable: false })
  fastify.addHook('onClose', async () => lister.close())

  // A child context keeps our error handler away from the host app. A miss is the host's to
  // answer: its 404 handler (ours in the app, `serveDir.notFoundHandler`) makes the page.
  await fastify.register(async function serveDirRoutes (child: FastifyInstance) {
    // @fastify/static, for `reply.sendFile` here only: the host's replies are left as they are
    await files.install(child)
    child.setErrorHandler(function (this: unknown, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
      return isMiss(err) ? handOverMiss(req, reply, err) : errorHandler.call(this, err, req, reply)
    })

    async function handler (req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
      const parsed = parseRequestUrl(req.raw.url as string, mount, windows)
      if (parsed.kind === 'bad') throw new BadPathError(parsed.reason)
      if (parsed.kind === 'outside') throw new NotFoundError()
      const { segments, trailingSlash, search } = parsed.target
      if (!settings.showHidden && isHidden(segments)) throw new NotFoundError()

      const found = lookup(realRoot, realRoot, segments, symlinks, hide)
      if (found === null) return notFound(req, reply, segments)
      if (found.stat.isDirectory()) {
        if (!trailingSlash) {
          return reply.code(301).header('location', directoryLocation([...mount, ...segments], search))
            // the length said outright, so that HEAD shows what GET does
            .header('x-content-type-options', 'nosniff').header('content-length', '0').send()
        }
        // parsed only when it may hold the name, spelled out or escaped (`downloa%64`)
        const download = search.includes('download') || search.includes('%') ? new URLSearchParams(search).getAll('download') : []
        if (download.length > 0) return sendArchive(req, reply, found.path, found.stat, segments, download)
        for (const name of settings.index) {
          const file = lookup(realRoot, found.path, [name], symlinks, hide)
          if (file?.stat.isFile() === true) return files.send(req, reply, file.path, file.stat)
        }
        if (!settings.listing || settings.spa !== null) return notFound(req, reply, segments)
        return sendListing(req, reply, found.path, found.stat, segments, search)
      }
      // FIFOs, sockets and devices are never opened: reading one could hang the request forever
      if (!found.stat.isFile() || trailingSlash) throw new NotFoundError()
      return files.send(req, reply, found.path, found.stat)
    }

    /**
     * 404, or for a single-page app the fallback page, when the path looks like one of its routes
     * (no extension in the last segment) and a browser asked for HTML. A missing asset stays a 404.
     */
    async function notFound (req: FastifyRequest, reply: FastifyReply, segments: string[]): Promise<FastifyReply> {
      const last = segments[segments.length - 1] ?? ''
      if (settings.spa !== null && !last.includes('.') && (req.headers.accept ?? '').includes('text/html')) {
        const page = lookup(realRoot, realRoot, settings.spa, symlinks, hide)
        // the page or a 404 depends on Accept: caches must know
        if (page?.stat.isFile() === true) return files.send(req, addVary(reply, 'Accept'), page.path, page.stat)
      }
      throw new NotFoundError()
    }

    /** `?download=zip|tar.gz`: the folder as one archive, streamed. */
    async function sendArchive (req: FastifyRequest, reply: FastifyReply, dir: string, dirStat: Stats, segments: string[], asked: string[]): Promise<FastifyReply> {
      if (settings.archives === false) throw new ArchivesOffError()
      if (asked.length > 1 || !(asked[0] in ARCHIVE_TYPES)) throw new BadQueryError('download', "must be 'zip' or 'tar.gz'")
      const format = asked[0] as ArchiveFormat
      const signal = untilClientGone(reply)
      // a few at once: each walks a whole tree and keeps a connection busy for long
      const release = await archiveTurns.take(signal)
      try {
        return await sendArchiveInTurn(req, reply, dir, dirStat, segments, format, signal, release)
      } catch (err) {
        release()
        throw err
      }
    }

    async function sendArchiveInTurn (req: FastifyRequest, reply: FastifyReply, dir: string, dirStat: Stats, segments: string[], format: ArchiveFormat, signal: AbortSignal, release: () => void): Promise<FastifyReply> {
      const limits = settings.archives as { maxBytes: number, maxEntries: number }
      let leftOut = 0
      // counted first, keeping nothing: the limits are decided before the first byte
      const counted = await lister.count(dir, dirStat, limits, () => signal.aborted, (item) => { if (format === 'zip' && !zipSafe(item.rel)) leftOut++ })
      if ('over' in counted) throw new ArchiveTooLargeError(counted.over === 'bytes' ? `more than ${limits.maxBytes} bytes` : `more than ${limits.maxEntries} entries`)
      /* c8 ignore next */ // 'files' only when serving / itself, which no test walks whole
      const name = (segments[segments.length - 1] ?? (mount[mount.length - 1] ?? path.basename(realRoot))) || 'files'
      reply.type(ARCHIVE_TYPES[format]).headers({
        'content-disposition': createDisposition(`${name}.${format}`),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff'
      })
      if (req.method === 'HEAD') {
        release()
        return reply.send()
      }
      // walked again as it is written: one item at a time
      const stream = await archive(format, lister.items(dir, dirStat, limits, () => signal.aborted), symlinks !== 'follow', signal)
      stream.once('close', release)
      req.log.info({ entries: counted.entries - leftOut, bytes: counted.bytes, format, ...(leftOut > 0 ? { leftOut } : {}) }, 'folder download')
      return reply.send(stream)
    }

    async function sendListing (req: FastifyRequest, reply: FastifyReply, dir: string, dirStat: Stats, segments: string[], search: string): Promise<FastifyReply> {
      const query = new URLSearchParams(search)
      const format = formatOf(req, query)
      const limit = query.has('limit') ? whole(query.get('limit'), 'limit', 0) : null
      if (limit === 0) throw new BadQueryError('limit', 'must be 1 or more')
      if (limit === null && query.has('offset')) throw new BadQueryError('offset', 'needs a limit')
      const listing = await lister.list({
        dir,
        dirPath: displayPath([...mount, ...segments]),
        isTop: segments.length === 0,
        crumbs: breadcrumbs(mount, segments),
        assets: '../'.repeat(segments.length) + ASSET_DIR + '/',
        format,
        offset: whole(query.get('offset'), 'offset', 0),
        limit,
        sort: oneOfQuery(query, 'sort', ['name', 'size', 'mtime'], 'name'),
        order: oneOfQuery(query, 'order', ['asc', 'desc'], 'asc'),
        q: query.get('q') ?? '',
        dirsFirst: settings.dirsFirst,
        downloads: settings.archives !== false
      }, dirStat, untilClientGone(reply))
      /* c8 ignore next */ // only if the folder vanished since lookup(): a race no test can time
      if (listing === null) throw new NotFoundError()
      reply.type(LISTING_TYPES[format]).header('cache-control', listingCacheControl).headers(LISTING_HEADERS)
      const coding = settings.compress ? pickEncoding(req.headers['accept-encoding'], CODINGS) : undefined
      addVary(reply, settings.compress ? 'Accept, Accept-Encoding' : 'Accept')
      if ('stream' in listing) {
        if (req.method === 'HEAD') {
          // never read: destroyed, so that its turn is given back
          listing.stream.destroy()
          return reply.send()
        }
        if (coding === undefined) return reply.send(listing.stream)
        return reply.header('content-encoding', coding).send(pipeline(listing.stream, compressor(coding), () => {}))
      }
      return sendRendered(req, reply, listing, listing.body.length >= settings.compressThreshold ? coding : undefined)
    }

    async function sendRendered (req: FastifyRequest, reply: FastifyReply, r: Rendered, coding: Coding | undefined): Promise<FastifyReply> {
      const etag = coding === undefined ? r.etag : r.etag.slice(0, -1) + '-' + coding + '"'
      reply.header('etag', etag)
      if (fresh(req.headers, { etag })) return reply.code(304).send()
      if (coding === undefined) return reply.send(r.body)
      let coded = r.coded.get(coding)
      if (coded === undefined) {
        coded = compressBuffer(r.body, coding)
        r.coded.set(coding, coded)
      }
      return reply.header('content-encoding', coding).send(await coded)
    }

    if (settings.cors !== false) {
      // loaded only when asked for: a server without CORS starts without it
      await child.register(require('@fastify/cors') as typeof import('@fastify/cors'), {
        // '*' for any; a list (even of one) so that a matching origin is echoed with Vary: Origin
        origin: settings.cors === true ? '*' : ([] as string[]).concat(settings.cors),
        methods: ['GET', 'HEAD'],
        exposedHeaders: ['ETag', 'Last-Modified', 'Content-Range', 'Content-Length', 'Content-Encoding', 'Accept-Ranges', 'Content-Disposition'],
        maxAge: 600
      })
    }
    const extraHeaders = Object.entries(settings.headers)
    if (extraHeaders.length > 0) {
      // added to successful answers (2xx, 304), never over one the server set itself
      child.addHook('onSend', async (_req, reply, payload) => {
        if (reply.statusCode < 400 && reply.statusCode !== 301) {
          for (const [k, v] of extraHeaders) if (!reply.hasHeader(k)) reply.header(k, v)
        }
        return payload
      })
    }
    // onRequest, so that a request body is never parsed (or waited for) before the 405
    // (with CORS on, OPTIONS is @fastify/cors's: its hook answers preflights before any route).
    // The methods are those the server knows when the plugin is registered: the app teaches it
    // all of Node's (WebDAV's PROPFIND, PURGE, ...); a host's table is the host's own.
    const otherMethods = settings.methodNotAllowed
      ? child.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD' && (m !== 'OPTIONS' || settings.cors === false))
      : []
    // below an enclosing prefix, '/' is that prefix with and without its slash (the slash-less one 301s)
    const routes = prefixSegments.length > 0 ? [displayPath(prefixSegments).slice(0, -1), displayPath(prefixSegments) + '*'] : mount.length > 0 ? ['/', '/*'] : ['/*']
    // the listing's stylesheet and script: immutable, under names that carry their hash
    for (const [asset, type] of [[ASSETS.css, 'text/css; charset=utf-8'], [ASSETS.js, 'text/javascript; charset=utf-8']] as const) {
      child.get(displayPath([...prefixSegments, ASSET_DIR]) + asset.name, async (req, reply) => {
        reply.headers({ 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable', etag: asset.etag, 'x-content-type-options': 'nosniff' })
        if (fresh(req.headers, { etag: asset.etag })) return reply.code(304).send()
        return asset.body
      })
    }
    // and their folder, listed: a client that follows every href (lftp mirror) takes the folder a
    // listing links its stylesheet from for one to mirror, and fails on a 404 there
    const assetList = renderHtml({
      dirPath: displayPath([...mount, ASSET_DIR]),
      isTop: false,
      crumbs: breadcrumbs(mount, [ASSET_DIR]),
      assets: './',
      sort: 'name',
      order: 'asc',
      q: '',
      limit: null
    }, [ASSETS.css, ASSETS.js].map((a) => ({ name: a.name, type: 'file' as const, size: a.body.length, mtime: STARTED })))
    child.get(displayPath([...prefixSegments, ASSET_DIR]), async (_req, reply) => {
      return reply.type(LISTING_TYPES.html).header('cache-control', 'no-cache').headers(LISTING_HEADERS).send(assetList)
    })
    for (const url of routes) {
      child.route({ method: ['GET', 'HEAD'], url, handler })
      if (otherMethods.length > 0) child.route({ method: otherMethods, url, onRequest: refuseMethod, handler: refuseMethod })
    }
  })
}

/** When the assets were made: the date their folder's listing shows. */
const STARTED = new Date()
const LISTING_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': LISTING_CSP, 'referrer-policy': 'no-referrer' }

/** `?format=` wins (one of html, json); else the Accept header decides. */
function formatOf (req: FastifyRequest, query: URLSearchParams): Format {
  if (!query.has('format')) return preferredListing(req)
  return oneOfQuery(query, 'format', ['html', 'json', 'text'], 'html')
}

/** A query parameter that must be one of a few words (once). */
function oneOfQuery<T extends string> (query: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const asked = query.getAll(name)
  if (asked.length === 0) return fallback
  if (asked.length > 1 || !(allowed as readonly string[]).includes(asked[0])) {
    throw new BadQueryError(name, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`)
  }
  return asked[0] as T
}

const LISTING_TYPES: Record<Format, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8'
}

/** A query parameter that must be a whole number. */
function whole (value: string | null, name: string, fallback: number): number {
  if (value === null) return fallback
  if (!/^\d{1,15}$/.test(value)) throw new BadQueryError(name, 'must be a whole number')
  return Number(value)
}

/**
 * A signal that aborts (with `ClientGoneError`) when the client goes away before its answer has
 * been sent whole, including before the handler began (a request sent, then the connection closed).
 */
function untilClientGone (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  // Node's HTTP/2 compatibility response has no `destroyed`: its stream does
  const res = reply.raw as FastifyReply['raw'] & { stream?: { destroyed: boolean } }
  // closed before the answer was ended (`writableFinished` is true for a reset HTTP/2 stream)
  const gone = (): void => { if (!res.writableEnded) controller.abort(new ClientGoneError()) }
  if (res.destroyed === true || res.stream?.destroyed === true) gone()
  else res.once('close', gone)
  return controller.signal
}

async function refuseMethod (req: FastifyRequest, reply: FastifyReply): Promise<never> {
  reply.header('allow', ALLOWED_METHODS)
  throw new MethodNotAllowedError(req.method)
}
