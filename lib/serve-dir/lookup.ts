import path from 'node:path'
import type { Dirent, Stats } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { ForbiddenError } from './errors'
import { isInside } from './resolve'
import type { Entry } from './listing'

/** How symbolic links are treated: followed only when they stay under the root, always, or never. */
export type SymlinkPolicy = 'inside' | 'follow' | 'deny'

export interface Found {
  /** The path to open: the real path, except under `follow`, where links are not resolved. */
  path: string
  stat: Stats
}

/** Errors that mean "there is nothing servable here" rather than a fault of ours. */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG'])

function mapFsError (err: NodeJS.ErrnoException): null {
  if (err.code !== undefined && MISSING.has(err.code)) return null
  /* c8 ignore start */ // EACCES cannot be provoked as root: test/e2e/unreadable.test.ts runs the server as an unprivileged user
  if (err.code === 'EACCES' || err.code === 'EPERM') throw new ForbiddenError()
  throw err
}
/* c8 ignore stop */

/**
 * Finds `names` below the real directory `base` and applies the symlink policy against `realRoot`.
 * Returns `null` when nothing servable is there (missing, dangling link, link loop, outside the
 * root, a link under `deny`); throws `ForbiddenError` when the process may not look.
 */
export async function lookup (realRoot: string, base: string, names: readonly string[], policy: SymlinkPolicy): Promise<Found | null> {
  const logical = path.join(base, ...names)
  try {
    if (policy === 'follow') return { path: logical, stat: await stat(logical) }
    const real = await realpath(logical)
    if (policy === 'deny' ? real !== logical : !isInside(realRoot, real)) return null
    return { path: real, stat: await stat(real) }
  } catch (err) {
    return mapFsError(err as NodeJS.ErrnoException)
  }
}

/** How many entries of a folder are stat'ed at once while listing. */
const STAT_CONCURRENCY = 64

async function entryOf (realRoot: string, dir: string, dirent: Dirent, policy: SymlinkPolicy): Promise<Entry | null> {
  let found: Found | null
  if (dirent.isSymbolicLink()) {
    found = policy === 'deny' ? null : await lookup(realRoot, dir, [dirent.name], policy).catch(() => null)
  } else {
    found = await stat(path.join(dir, dirent.name)).then((s) => ({ path: '', stat: s }), () => null)
  }
  if (found === null) return null
  const s = found.stat
  if (s.isDirectory()) return { name: dirent.name, type: 'directory', size: null, mtime: s.mtime }
  if (s.isFile()) return { name: dirent.name, type: 'file', size: s.size, mtime: s.mtime }
  return null // FIFOs, sockets and devices are never served, so they are not listed either
}

/**
 * The visible entries of the real directory `dir`, unsorted: hidden names (when `showHidden` is
 * false), links the policy refuses, dangling links and special files are left out. `null` when
 * the folder is gone.
 */
export async function readEntries (realRoot: string, dir: string, policy: SymlinkPolicy, showHidden: boolean): Promise<Entry[] | null> {
  let dirents: Dirent[]
  try {
    dirents = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    return mapFsError(err as NodeJS.ErrnoException)
  }
  if (!showHidden) dirents = dirents.filter((d) => d.name.charCodeAt(0) !== 0x2e)
  const entries: Entry[] = []
  for (let i = 0; i < dirents.length; i += STAT_CONCURRENCY) {
    const batch = await Promise.all(dirents.slice(i, i + STAT_CONCURRENCY).map((d) => entryOf(realRoot, dir, d, policy)))
    for (const e of batch) if (e !== null) entries.push(e)
  }
  return entries
}
