// What a URL means, decided in one place: `decide()` reads the request target and looks it up
// under the root with the plugin's policies, and says what to answer (a file, a redirect, a
// folder's index file, its listing or archive, the single-page app's page, or nothing); the
// route's handler (plugin.ts) only carries the decision out. Table-tested in test/lib/route.test.ts.
import type { Stats } from 'node:fs'
import { directoryLocation, isHidden, parseRequestUrl } from './url'
import { lookup, type SymlinkPolicy } from './fs/lookup'
import { isTempName } from './upload/names'

/** What the plugin needs to know to decide a URL. */
export interface Where {
  realRoot: string
  /** Segments of the URL path the folder is mounted at, enclosing prefixes included. */
  mount: readonly string[]
  symlinks: SymlinkPolicy
  showHidden: boolean
  index: readonly string[]
  listing: boolean
  /** Segments of the single-page app's page, or `null`. */
  spa: readonly string[] | null
  /** Read paths as Windows does (backslashes are separators). */
  windows?: boolean
}

/** A folder the URL names, with the URL's segments under the mount and its query. */
export interface Folder { dir: string, stat: Stats, segments: string[], search: string }

export type Decision =
  | { kind: 'bad', reason: string }
  | { kind: 'not-found' }
  /** A regular file: the URL's own, a folder's index file, or (`spa`) the single-page app's page. */
  | { kind: 'file' | 'index' | 'spa', path: string, stat: Stats }
  | { kind: 'redirect', location: string }
  /** `?download=` on a folder: what was asked (checked by the archive route). */
  | { kind: 'archive', folder: Folder, asked: string[] }
  | { kind: 'listing', folder: Folder }

const NOT_FOUND: Decision = { kind: 'not-found' }

/**
 * What `rawUrl` (the request target as sent) means under `where`. `accept` is the request's
 * Accept header: a single-page app's page is for browsers (asking for HTML) only.
 */
export function decide (rawUrl: string, accept: string | undefined, where: Where): Decision {
  const parsed = parseRequestUrl(rawUrl, where.mount, where.windows)
  if (parsed.kind === 'bad') return { kind: 'bad', reason: parsed.reason }
  if (parsed.kind === 'outside') return NOT_FOUND
  const { segments, trailingSlash, search } = parsed.target
  const hide = !where.showHidden
  if ((hide && isHidden(segments)) || segments.some(isTempName)) return NOT_FOUND
  const look = (base: string, names: readonly string[]): ReturnType<typeof lookup> =>
    lookup(where.realRoot, base, names, where.symlinks, hide)

  const found = look(where.realRoot, segments)
  if (found === null) return missing(segments, accept, where, look)
  if (found.stat.isDirectory()) {
    if (!trailingSlash) return { kind: 'redirect', location: directoryLocation([...where.mount, ...segments], search) }
    const folder = { dir: found.path, stat: found.stat, segments, search }
    // parsed only when it may hold the name, spelled out or escaped (`downloa%64`)
    const asked = search.includes('download') || search.includes('%')
      ? new URLSearchParams(search).getAll('download')
      : []
    if (asked.length > 0) return { kind: 'archive', folder, asked }
    for (const name of where.index) {
      const file = look(found.path, [name])
      if (file?.stat.isFile() === true) return { kind: 'index', path: file.path, stat: file.stat }
    }
    if (!where.listing || where.spa !== null) return missing(segments, accept, where, look)
    return { kind: 'listing', folder }
  }
  // FIFOs, sockets and devices are never opened: reading one could hang the request forever
  if (!found.stat.isFile() || trailingSlash) return NOT_FOUND
  return { kind: 'file', path: found.path, stat: found.stat }
}

/**
 * Nothing, or for a single-page app its page, when the path looks like one of its routes (no
 * extension in the last segment) and a browser asked for HTML. A missing asset stays missing.
 */
function missing (
  segments: readonly string[],
  accept: string | undefined,
  where: Where,
  look: (base: string, names: readonly string[]) => ReturnType<typeof lookup>
): Decision {
  const last = segments[segments.length - 1] ?? ''
  if (where.spa !== null && !last.includes('.') && (accept ?? '').includes('text/html')) {
    const page = look(where.realRoot, where.spa)
    if (page?.stat.isFile() === true) return { kind: 'spa', path: page.path, stat: page.stat }
  }
  return NOT_FOUND
}
