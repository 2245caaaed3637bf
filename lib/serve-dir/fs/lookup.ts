import path from 'node:path'
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs'
import { ForbiddenError } from '../errors'
import { answerTo } from './errno'
import { isHidden, isInside } from '../url'

/** How symbolic links are treated: followed only when they stay under the root, always, or never. */
export type SymlinkPolicy = 'inside' | 'follow' | 'deny'

export interface Found {
  /** The path to open: the real path, except under `follow`, where links are not resolved. */
  path: string
  stat: Stats
}

const NO_THROW = { throwIfNoEntry: false } as const

function mapFsError (err: NodeJS.ErrnoException): null {
  const status = answerTo(err)?.[0]
  if (status === 404) return null
  /* c8 ignore start */ // EACCES cannot be provoked as root: test/e2e/unreadable.test.ts runs the server
  // as an unprivileged user
  if (status === 403) throw new ForbiddenError()
  throw err
}
/* c8 ignore stop */

/**
 * Finds `names` below the real directory `base` and applies the symlink policy against `realRoot`.
 * Returns `null` when nothing servable is there (missing, dangling link, link loop, outside the
 * root, a link under `deny`, a link to a hidden name when `hideDotfiles`); throws
 * `ForbiddenError` when the process may not look.
 *
 * Synchronous on purpose: one `lstat` per path segment costs a few microseconds on a local disk,
 * far less than a round trip through libuv's thread pool, and it is the whole cost of a request
 * for a cached file. Only a segment that is a link pays for a `realpath`.
 */
export function lookup (
  realRoot: string,
  base: string,
  names: readonly string[],
  policy: SymlinkPolicy,
  hideDotfiles = false
): Found | null {
  try {
    if (policy === 'follow') {
      const logical = path.join(base, ...names)
      const s = statSync(logical, NO_THROW)
      return s === undefined ? null : { path: logical, stat: s }
    }
    let current = base
    let s: Stats | undefined
    for (let i = 0; i < names.length; i++) {
      if (s !== undefined && !s.isDirectory()) return null
      current = current.endsWith(path.sep) ? current + names[i] : current + path.sep + names[i]
      s = lstatSync(current, NO_THROW)
      if (s === undefined) return null
      if (s.isSymbolicLink()) {
        if (policy === 'deny') return null
        current = realpathSync.native(current)
        if (!isInside(realRoot, current)) return null
        // a visible link must not reveal a hidden file: `env -> .env`
        if (hideDotfiles && isHidden(path.relative(realRoot, current).split(path.sep))) return null
        s = statSync(current)
      }
    }
    return { path: current, stat: s ?? statSync(current) }
  } catch (err) {
    return mapFsError(err as NodeJS.ErrnoException)
  }
}
