// A folder's listing as an answer: its query (`?format`, `sort`, `order`, `q`, `limit`, `offset`)
// read and checked, the listing made by the Lister (lister.ts) and rendered (render.ts), sent
// with its type, policy and coding, and 304 when the client has it. Also the routes of the
// listing's stylesheet and script (assets.ts), and of their folder.
import { pipeline } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fresh from 'fresh'
import { BadQueryError, NotFoundError } from '../errors'
import { displayPath } from '../url'
import { addVary, preferredListing } from '../error-page'
import { CODINGS, cacheControl, codedEtag, compressBuffer, compressor, pickEncoding, type Coding } from '../http'
import { untilClientGone, type ClientSlots } from '../slots'
import type { Folder } from '../route'
import type { Lister, Rendered } from './lister'
import { LISTING_CSP, breadcrumbs, renderHtml, type Format } from './render'
import { ASSETS, ASSET_DIR } from './assets'

/** What a listing depends on beyond its folder. */
export interface ListingOptions {
  compress: boolean
  compressThreshold: number
  /** Who may compress on the fly now: a listing that gets no slot goes out as it is. */
  compressing: ClientSlots
  dirsFirst: boolean
  /** Whether folder downloads are on (the listing offers them). */
  downloads: boolean
  /** Whether files may be added to the folder at `segments` (its listing offers a form), and hidden ones. */
  uploads?: { allows: (segments: readonly string[]) => boolean, hidden: boolean }
  /** Live reload's script, by its name in the assets' folder, when it is on. */
  live?: string
}

/** When the assets were made: the date their folder's listing shows. */
const STARTED = new Date()
// same-origin, not no-referrer: no other site learns a listing's URL, and the upload form's POST
// keeps its Origin (under no-referrer Chromium sends `Origin: null`, which uploads refuse)
const LISTING_HEADERS = { 'content-security-policy': LISTING_CSP, 'referrer-policy': 'same-origin' }
const LISTING_TYPES: Record<Format, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8'
}
const LISTING_CACHE_CONTROL = cacheControl({ maxAge: 0, immutable: false })

/**
 * Tags a body made here (a listing, an asset) with `etag`, and says whether the client already has
 * it (If-None-Match, RFC 9110 §13.1.2, as `fresh` reads it): then the answer is a 304. A file's
 * conditionals are @fastify/send's (file/responder.ts).
 */
function unchanged (req: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag)
  return fresh(req.headers, { etag })
}

/** `?format=` wins (one of html, json, text); else the Accept header decides. */
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

/** A query parameter that must be a whole number. */
function whole (value: string | null, name: string, fallback: number): number {
  if (value === null) return fallback
  if (!/^\d{1,15}$/.test(value)) throw new BadQueryError(name, 'must be a whole number')
  return Number(value)
}

export class ListingRoute {
  constructor (
    private readonly lister: Lister,
    private readonly mount: readonly string[],
    private readonly opts: ListingOptions
  ) {}

  /** Answers GET or HEAD for the listing of `folder`. */
  async send (
    req: FastifyRequest,
    reply: FastifyReply,
    { dir, stat, segments, search }: Folder
  ): Promise<FastifyReply> {
    const { mount, opts } = this
    const query = new URLSearchParams(search)
    const format = formatOf(req, query)
    const limit = query.has('limit') ? whole(query.get('limit'), 'limit', 0) : null
    if (limit === 0) throw new BadQueryError('limit', 'must be 1 or more')
    if (limit === null && query.has('offset')) throw new BadQueryError('offset', 'needs a limit')
    const listing = await this.lister.list({
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
      dirsFirst: opts.dirsFirst,
      downloads: opts.downloads,
      ...(opts.live === undefined ? {} : { live: opts.live }),
      ...(opts.uploads?.allows(segments) === true ? { uploads: { hidden: opts.uploads.hidden } } : {})
    }, stat, untilClientGone(reply))
    /* c8 ignore next */ // only if the folder vanished since lookup(): a race no test can time
    if (listing === null) throw new NotFoundError()
    reply.type(LISTING_TYPES[format]).header('cache-control', LISTING_CACHE_CONTROL).headers(LISTING_HEADERS)
    const coding = opts.compress ? pickEncoding(req.headers['accept-encoding'], CODINGS) : undefined
    addVary(reply, opts.compress ? 'Accept, Accept-Encoding' : 'Accept')
    if ('stream' in listing) {
      if (req.method === 'HEAD') {
        // never read: destroyed, so that its turn is given back
        listing.stream.destroy()
        return reply.send()
      }
      if (coding === undefined || !opts.compressing.holdFor(req, reply)) return reply.send(listing.stream)
      return reply.header('content-encoding', coding).send(pipeline(listing.stream, compressor(coding), () => {}))
    }
    return await this.sendRendered(
      req,
      reply,
      listing,
      listing.body.length >= opts.compressThreshold ? coding : undefined
    )
  }

  private async sendRendered (
    req: FastifyRequest,
    reply: FastifyReply,
    r: Rendered,
    wanted: Coding | undefined
  ): Promise<FastifyReply> {
    let coded = wanted === undefined ? undefined : r.coded.get(wanted)
    // a form made already is sent as it is; one to make needs a slot, or the listing goes out as it is
    const coding = coded !== undefined || (wanted !== undefined && this.opts.compressing.holdFor(req, reply))
      ? wanted
      : undefined
    const etag = coding === undefined ? r.etag : codedEtag(r.etag, coding)
    if (unchanged(req, reply, etag)) return reply.code(304).send()
    if (coding === undefined) return reply.send(r.body)
    if (coded === undefined) {
      coded = compressBuffer(r.body, coding)
      r.coded.set(coding, coded)
    }
    return reply.header('content-encoding', coding).send(await coded)
  }

  /**
   * The listing's stylesheet and script, immutable under names that carry their hash, and their
   * folder, listed: a client that follows every href (lftp mirror) takes the folder a listing links
   * its stylesheet from for one to mirror, and fails on a 404 there.
   */
  static installAssets (scope: FastifyInstance, prefixSegments: readonly string[], mount: readonly string[]): void {
    for (const [asset, type] of [
      [ASSETS.css, 'text/css; charset=utf-8'],
      [ASSETS.js, 'text/javascript; charset=utf-8']
    ] as const) {
      scope.get(displayPath([...prefixSegments, ASSET_DIR]) + asset.name, async (req, reply) => {
        reply.headers({
          'content-type': type,
          'cache-control': 'public, max-age=31536000, immutable'
        })
        if (unchanged(req, reply, asset.etag)) return reply.code(304).send()
        return asset.body
      })
    }
    const assetList = renderHtml({
      dirPath: displayPath([...mount, ASSET_DIR]),
      isTop: false,
      crumbs: breadcrumbs(mount, [ASSET_DIR]),
      assets: './',
      sort: 'name',
      order: 'asc',
      q: '',
      limit: null
    }, [ASSETS.css, ASSETS.js].map((a) => ({
      name: a.name,
      type: 'file' as const,
      size: a.body.length,
      mtime: STARTED
    })))
    scope.get(displayPath([...prefixSegments, ASSET_DIR]), async (_req, reply) => {
      return reply.type(LISTING_TYPES.html).header('cache-control', 'no-cache').headers(LISTING_HEADERS).send(assetList)
    })
  }
}
