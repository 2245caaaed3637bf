// The HTTP decisions the layers around @fastify/send still make (RFC 9110), for files and listings
// alike: caching policy and content coding (which, how, and the tag of a coded variant). Data in,
// data out. A file's validators, preconditions and ranges are send's.
import zlib from 'node:zlib'
import { promisify } from 'node:util'
import type { Transform } from 'node:stream'
import Negotiator from 'negotiator'

export interface CachingOptions {
  /** Seconds a response may be reused without asking again; 0 means always revalidate. */
  maxAge: number
  /** Add `immutable` (only with a `maxAge`). */
  immutable: boolean
}

/** `no-cache` by default: a dev server must never show a stale file; `public, max-age=N[, immutable]` when asked. */
export function cacheControl ({ maxAge, immutable }: CachingOptions): string {
  if (maxAge <= 0) return 'no-cache'
  return `public, max-age=${maxAge}` + (immutable ? ', immutable' : '')
}

export type Coding = 'br' | 'gzip'

interface EncodingNegotiator { encoding: (available: string[], options: { preferred: string[] }) => string | undefined }

/** The best content coding the client accepts among `offered`, or `undefined` for identity. */
export function pickEncoding (acceptEncoding: string | undefined, offered: readonly Coding[]): Coding | undefined {
  if (acceptEncoding === undefined || offered.length === 0) return undefined
  // negotiator 1.x takes `preferred`; @types/negotiator predates it
  const negotiator = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } }) as unknown as EncodingNegotiator
  const best = negotiator.encoding(['identity', ...offered], { preferred: [...offered, 'identity'] })
  return best === 'identity' || best === undefined ? undefined : best as Coding
}

/** The codings we make or find as sidecars, in the order we prefer them. */
export const CODINGS: readonly Coding[] = ['br', 'gzip']

const gzip = promisify(zlib.gzip)
const brotli = promisify(zlib.brotliCompress)
// quality 5 of 11: most of brotli's gain at a fraction of its top quality's time, as on-the-fly servers use;
// a 256 KiB window (lgwin 18), not the default 4 MiB: each compressor then holds ~5 MiB instead of ~35
// (its ring buffer and hash tables grow with the window), with the same ratio on text
const BROTLI = {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 18 }
}

/** Compresses a whole body (in libuv's thread pool). */
export function compressBuffer (data: Buffer, coding: Coding): Promise<Buffer> {
  return coding === 'br' ? brotli(data, BROTLI) : gzip(data)
}

/** A streaming compressor for bodies too big to hold. */
export function compressor (coding: Coding): Transform {
  return coding === 'br' ? zlib.createBrotliCompress(BROTLI) : zlib.createGzip()
}

/** The tag of a coded variant: the identity's with the coding, so that no cache takes one for the other. */
export function codedEtag (etag: string, coding: Coding): string {
  return etag.slice(0, -1) + '-' + coding + '"'
}
