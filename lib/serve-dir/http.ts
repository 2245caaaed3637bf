// The HTTP decisions the layers around @fastify/send still make (RFC 9110): caching policy and
// content coding. Data in, data out. A file's validators, preconditions and ranges are send's.
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
