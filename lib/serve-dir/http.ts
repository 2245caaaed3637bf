// Pure HTTP decisions for a representation (RFC 9110): validators, preconditions, ranges, caching
// and content coding. Data in, data out; lib/serve-dir/file.ts does the I/O.
import parseRange from 'range-parser'
import Negotiator from 'negotiator'

/** The validators of one representation. */
export interface Validators {
  /** Strong entity tag, with its quotes. */
  etag: string
  /** Modification time in ms since the epoch, whole seconds (HTTP dates have no finer grain); none for listings. */
  lastModified?: number
}

export interface RequestHeaders {
  'if-match'?: string
  'if-none-match'?: string
  'if-modified-since'?: string
  'if-unmodified-since'?: string
  'if-range'?: string
  range?: string
  'accept-encoding'?: string
}

/**
 * A strong entity tag from file metadata: changes when the content can have changed (size,
 * modification time, and the change time, which no one can set back) or the file was replaced
 * (inode); stable across restarts. Like nginx's and Apache's, without reading the content.
 */
export function metadataEtag (stat: { ino: number, size: number, mtimeMs: number, ctimeMs: number }): string {
  return `"${stat.ino.toString(36)}-${stat.size.toString(36)}-${Math.round(stat.mtimeMs * 1000).toString(36)}-${Math.round(stat.ctimeMs * 1000).toString(36)}"`
}

/** The tag for a content-coded variant: a different representation needs a different strong tag. */
export function encodedEtag (etag: string, encoding: string): string {
  return etag.slice(0, -1) + '-' + encoding + '"'
}

/** Splits an If-Match / If-None-Match value into its tags (`*` stays `*`); junk between tags is skipped. */
export function parseEtags (header: string): string[] {
  return header.match(/\*|(?:W\/)?"[^"]*"/g) ?? []
}

function opaque (tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** Strong comparison: both tags strong and identical. */
export function strongMatch (header: string, etag: string): boolean {
  return parseEtags(header).some((t) => t === '*' || (!t.startsWith('W/') && t === etag))
}

/** Weak comparison: opaque tags identical, weakness ignored. */
export function weakMatch (header: string, etag: string): boolean {
  const mine = opaque(etag)
  return parseEtags(header).some((t) => t === '*' || opaque(t) === mine)
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = `(${MONTHS.join('|')})`
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)'
/** §5.6.7: IMF-fixdate, then the two obsolete forms a recipient must still accept (RFC 850, asctime). */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`)
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`)
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d\\d) ${TIME} (\\d{4})$`)

/**
 * An HTTP-date (§5.6.7) in ms, or `undefined` when the value is not one: an invalid date in a
 * conditional header must be ignored, so nothing looser than the three grammars is accepted.
 */
export function parseHttpDate (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  let day: string, month: string, year: number, hms: string[]
  let m = IMF_FIXDATE.exec(value)
  if (m !== null) [day, month, year, hms] = [m[1], m[2], Number(m[3]), m.slice(4, 7)]
  else if ((m = RFC850_DATE.exec(value)) !== null) {
    // a two-digit year more than 50 years ahead is the most recent past year with those digits
    const now = new Date().getUTCFullYear()
    year = Math.floor((now + 50) / 100) * 100 + Number(m[3])
    if (year > now + 50) year -= 100
    ;[day, month, hms] = [m[1], m[2], m.slice(4, 7)]
  } else if ((m = ASCTIME_DATE.exec(value)) !== null) [month, day, hms, year] = [m[1], m[2], m.slice(3, 6), Number(m[6])]
  else return undefined
  const [d, mo, h, mi, s] = [Number(day), MONTHS.indexOf(month), Number(hms[0]), Number(hms[1]), Number(hms[2])]
  // the day first (no 31 Feb; setUTCFullYear keeps years below 100 as they are), then the time:
  // no 24:00, and a leap second (:60) is read as the next second
  const date = new Date(0)
  date.setUTCFullYear(year, mo, d)
  if (date.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) return undefined
  return date.getTime() + ((h * 60 + mi) * 60 + s) * 1000
}

/**
 * RFC 9110 §13.2.2, in its order: If-Match, else If-Unmodified-Since (412 when they fail); then
 * If-None-Match, else If-Modified-Since (304 for GET and HEAD when they match).
 */
export function evaluatePreconditions (method: string, h: RequestHeaders, v: Validators): 'proceed' | 304 | 412 {
  if (h['if-match'] !== undefined) {
    if (!strongMatch(h['if-match'], v.etag)) return 412
  } else {
    const ius = parseHttpDate(h['if-unmodified-since'])
    if (ius !== undefined && v.lastModified !== undefined && v.lastModified > ius) return 412
  }
  if (h['if-none-match'] !== undefined) {
    // for other methods this would be a 412, but only GET and HEAD reach here
    if (weakMatch(h['if-none-match'], v.etag)) return 304
  } else {
    const ims = parseHttpDate(h['if-modified-since'])
    if (ims !== undefined && v.lastModified !== undefined && v.lastModified <= ims) return 304
  }
  return 'proceed'
}

/** If-Range (§13.1.5): the Range applies only if the validator still matches, strongly. */
export function ifRangeHolds (h: RequestHeaders, v: Validators): boolean {
  const value = h['if-range']
  if (value === undefined) return true
  const trimmed = value.trim()
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return !trimmed.startsWith('W/') && trimmed === v.etag
  return v.lastModified !== undefined && parseHttpDate(trimmed) === v.lastModified
}

export interface ByteRange { start: number, end: number }

export type RangePlan =
  | { kind: 'full' }
  | { kind: 'unsatisfiable' }
  | { kind: 'partial', ranges: ByteRange[] }

const RANGE_SPEC = /^(?:\d+-\d*|-\d+)$/

/**
 * §14.1.1 syntax, checked before range-parser (which calls any bad set unsatisfiable): the
 * range-specs of a `bytes` Range (unit in any case, spaces around commas and empty list elements
 * allowed, §5.6.1), or `null` for a Range to ignore (§14.2): not valid `bytes` syntax, or a range
 * whose last byte precedes its first.
 */
function byteRangeSpecs (header: string): string[] | null {
  if (header.slice(0, 6).toLowerCase() !== 'bytes=') return null
  const specs = header.slice(6).split(',').map((spec) => spec.trim()).filter((spec) => spec !== '')
  const valid = specs.length > 0 && specs.every((spec) => {
    if (!RANGE_SPEC.test(spec)) return false
    const [first, last] = spec.split('-')
    return first === '' || last === '' || Number(first) <= Number(last)
  })
  return valid ? specs : null
}

/** More ranges than this (after merging overlaps) are served as the whole representation (§14.2 lets us ignore Range). */
export const MAX_RANGES = 16

/**
 * What a Range header asks of a representation of `size` bytes: the whole of it (no header, not
 * `bytes`, malformed, an empty file, too many ranges), 416, or the merged ranges in order.
 */
export function planRanges (size: number, header: string | undefined): RangePlan {
  const specs = header === undefined || size === 0 ? null : byteRangeSpecs(header)
  if (specs === null) return { kind: 'full' }
  // a suffix longer than the representation is all of it (§14.1.1); range-parser calls it unsatisfiable
  const clamped = specs.map((spec) => spec.startsWith('-') && Number(spec.slice(1)) > size ? `-${size}` : spec)
  // valid syntax leaves range-parser only two answers: unsatisfiable (-1) or the ranges
  const parsed = parseRange(size, 'bytes=' + clamped.join(','), { combine: true }) as parseRange.Ranges | -1
  if (parsed === -1) return { kind: 'unsatisfiable' }
  if (parsed.length > MAX_RANGES) return { kind: 'full' }
  return { kind: 'partial', ranges: parsed.map(({ start, end }) => ({ start, end })) }
}

/** `Content-Range` for one part, or for a 416 (`bytes *\/size`). */
export function contentRange (size: number, range?: ByteRange): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`
}

/** The parts of a multipart/byteranges body, as head strings to write before each range and the closing tail. */
export function multipartParts (boundary: string, type: string, size: number, ranges: readonly ByteRange[]): { heads: string[], tail: string, length: number } {
  const heads = ranges.map((r, i) =>
    `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${contentRange(size, r)}\r\n\r\n`)
  const tail = `\r\n--${boundary}--\r\n`
  let length = Buffer.byteLength(tail)
  for (let i = 0; i < ranges.length; i++) length += Buffer.byteLength(heads[i]) + ranges[i].end - ranges[i].start + 1
  return { heads, tail, length }
}

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
