import path from 'node:path'

/** What a request URL names, once decoded and checked: data only, no file system access. */
export interface RequestTarget {
  /** Decoded path segments below the served root; never empty strings, `.`, `..`, or holding `/` or NUL. */
  segments: string[]
  /** The URL path ended with `/` (asks for a directory). */
  trailingSlash: boolean
  /** The query string as received, with its `?`, or `''`. */
  search: string
}

export type ParseResult =
  | { kind: 'target', target: RequestTarget }
  | { kind: 'outside' }
  | { kind: 'bad', reason: string }

/**
 * Splits a raw request URL (`req.raw.url`) into decoded segments below `prefixSegments`.
 *
 * Empty segments are dropped, so `//a//b` means `/a/b` (Python collapses them too). Each segment
 * is percent-decoded once; a malformed escape, a `.` or `..` segment (raw or encoded), an encoded
 * `/`, or a NUL is a bad request: none can name a file below the root, and all are traversal tricks.
 * On Windows (`windows: true`) `\` and `:` are path syntax too and are refused the same way; on
 * POSIX they are ordinary characters of a file name.
 */
export function parseRequestUrl (rawUrl: string, prefixSegments: readonly string[], windows = false): ParseResult {
  // a fragment is never meant for the server; Python drops it too
  const hash = rawUrl.indexOf('#')
  if (hash !== -1) rawUrl = rawUrl.slice(0, hash)
  const q = rawUrl.indexOf('?')
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const search = q === -1 ? '' : rawUrl.slice(q)
  const segments: string[] = []
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue
    let name: string
    try {
      name = decodeURIComponent(raw)
    } catch {
      return { kind: 'bad', reason: 'malformed percent-encoding' }
    }
    const reason = badSegment(name, windows)
    if (reason !== undefined) return { kind: 'bad', reason }
    segments.push(name)
  }
  for (let i = 0; i < prefixSegments.length; i++) {
    if (segments[i] !== prefixSegments[i]) return { kind: 'outside' }
  }
  return {
    kind: 'target',
    target: {
      segments: segments.slice(prefixSegments.length),
      trailingSlash: rawPath.endsWith('/'),
      search
    }
  }
}

function badSegment (name: string, windows: boolean): string | undefined {
  if (name === '.' || name === '..') return 'dot segment'
  if (name.includes('/')) return 'encoded slash'
  if (name.includes('\0')) return 'NUL byte'
  if (windows && (name.includes('\\') || name.includes(':'))) return 'backslash or colon'
  return undefined
}

/** Splits a mount prefix such as `/files/` into `['files']`. */
export function prefixToSegments (prefix: string): string[] {
  return prefix.split('/').filter(Boolean)
}

/** A segment that starts with a dot is hidden (`dotfiles: 'ignore'`). */
export function isHidden (segments: readonly string[]): boolean {
  return segments.some((s) => s.charCodeAt(0) === 0x2e)
}

/**
 * Percent-encodes one path segment as Python's `urllib.parse.quote` does: everything but RFC 3986's
 * unreserved characters (encodeURIComponent leaves `!'()*` too, and clients such as lftp that read
 * an href without decoding HTML entities then stumble on `&#39;`).
 */
export function encodeSegment (name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** Percent-encodes each segment, so no name can smuggle `/`, `\`, `?`, `#` or `%` into a URL. */
export function encodePath (segments: readonly string[]): string {
  return segments.map(encodeSegment).join('/')
}

/**
 * The `Location` of the 301 that adds the trailing slash to a folder: relative, just its own
 * encoded name and `/` (`dir` -> `dir/`), so it stays right behind a proxy that mounts us below a
 * path, and can never start with `/`, let alone `//` or `/\` (the CVE-2021-28861 open redirect).
 * Python sends the absolute path instead.
 */
export function directoryLocation (segments: readonly string[], search: string): string {
  const named = segments.filter((s) => s !== '')
  return (named.length === 0 ? './' : encodeSegment(named[named.length - 1]) + '/') + search
}

/** The directory's URL path as shown in the listing title: decoded, with both slashes. */
export function displayPath (segments: readonly string[]): string {
  return segments.length === 0 ? '/' : '/' + segments.join('/') + '/'
}

/** True when `child` is `parent` or lies below it (compared with `path.relative`, not a prefix test). */
export function isInside (parent: string, child: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel))
}
