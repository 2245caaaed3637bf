// Writing an upload so that nothing is lost and nothing is half-written: the folder is reached from
// the real root one name at a time without following a link (O_NOFOLLOW on every step, through
// the descriptor of the step before), the bytes go to a temporary file opened exclusively in that
// folder, are counted as they arrive and fsync'd, and the file is then linked into place (link
// never replaces: of twenty racing uploads of one name exactly one wins) or renamed over the old
// one. A reader sees the old file or the whole new one, never part of one; on any failure the
// temporary file is removed.
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, statfsSync, type Stats } from 'node:fs'
import { link, open, rename, rm, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { ConflictError, InsufficientStorageError, WriteForbiddenError } from '../errors'
import { throughDescriptor } from '../fs/verified-open'
import { TEMP_PREFIX } from './names'

const FOLDER = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW
const TEMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
/** Free space is looked at again after every this many bytes. */
const SPACE_CHECK_BYTES = 1024 * 1024

export type Overwrite = 'never' | 'rename' | 'always'

/** An open folder an upload goes into: reached with no link on the way. */
export class UploadFolder {
  private constructor (readonly fd: number, private readonly logical: string) {}

  /** A path that names `name` in this very folder, whatever its own path means by now. */
  at (name: string): string {
    return throughDescriptor(this.fd, this.logical) + '/' + name
  }

  close (): void {
    closeSync(this.fd)
  }

  /**
   * Opens `segments` below `realRoot`; with `mkdir`, makes those missing. A link anywhere on the
   * way is a 403 (whatever the symlink policy: writes never go through one), a file in the way
   * or a missing folder a 409.
   */
  static open (realRoot: string, segments: readonly string[], mkdir: boolean): UploadFolder {
    let folder = new UploadFolder(openSync(realRoot, FOLDER), realRoot)
    for (const name of segments) {
      try {
        folder = folder.step(name, mkdir)
      } catch (err) {
        folder.close()
        throw err
      }
    }
    return folder
  }

  private step (name: string, mkdir: boolean): UploadFolder {
    const at = this.at(name)
    let fd: number
    try {
      fd = openSync(at, FOLDER)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // O_NOFOLLOW | O_DIRECTORY on a link says ELOOP or (a link to a folder) ENOTDIR
      if (code === 'ENOTDIR' && lstatSync(at).isSymbolicLink()) throw folderError('ELOOP', name)
      if (code !== 'ENOENT' || !mkdir) throw folderError(code, name)
      try {
        mkdirSync(at, 0o755)
      /* c8 ignore start */ // EEXIST: another upload made it in between, a race no test can time;
      // anything else is a refusal root never gets
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      }
      /* c8 ignore stop */
      fd = openSync(at, FOLDER)
    }
    this.close()
    return new UploadFolder(fd, path.join(this.logical, name))
  }
}

function folderError (code: string | undefined, name: string): Error {
  if (code === 'ELOOP') return new WriteForbiddenError(`${JSON.stringify(name)} is a link`)
  if (code === 'ENOTDIR') return new ConflictError(`${JSON.stringify(name)} is a file, not a folder`)
  if (code === 'ENOENT') return new ConflictError(`no folder ${JSON.stringify(name)}`)
  /* c8 ignore start */ // EACCES and the like: root is never refused (test/e2e/unreadable.test.ts runs unprivileged)
  return new WriteForbiddenError('the folder cannot be written')
}
/* c8 ignore stop */

/** What is at `name` in `folder` now: a regular file's stats, `null` for nothing; else the refusal. */
export function existing (folder: UploadFolder, name: string): Stats | null {
  const s = lstatSync(folder.at(name), { throwIfNoEntry: false })
  if (s === undefined) return null
  if (s.isSymbolicLink()) throw new WriteForbiddenError(`${JSON.stringify(name)} is a link`)
  if (s.isDirectory()) throw new ConflictError(`${JSON.stringify(name)} is a folder`)
  if (!s.isFile()) throw new WriteForbiddenError(`${JSON.stringify(name)} is not a regular file`)
  return s
}

/** 507 unless `bytes` more leave `minFreeBytes` free on the folder's disk. */
export function checkSpace (folder: UploadFolder, bytes: number, minFreeBytes: number): void {
  const s = statfsSync(folder.at('.'))
  if (s.bavail * s.bsize - bytes < minFreeBytes) throw new InsufficientStorageError()
}

/** The name an upload takes under `rename` when `name` is taken: `name (1).ext`, `name (2).ext`, ... */
export function renamed (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}

/** What the disk says when it (or the user's quota) is full: a 507. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT'])

/** Names tried under `rename` before giving up with a 409. */
const RENAME_TRIES = 100

/**
 * Writes `body` (the request's, through upload/guard.ts) as `name` in `folder` (see the file's
 * comment). Returns the name it took (another under `rename`) and the new file's stats. Under
 * `always`, `recheck` may refuse what is at the name when the file is about to replace it. Throws
 * what `body` fails with (413, 408, `ClientGoneError`), 507 when the disk would keep less than
 * `minFreeBytes`, 409 when the name was taken meanwhile; nothing is left behind.
 */
export async function store (
  folder: UploadFolder,
  name: string,
  body: Readable,
  overwrite: Overwrite,
  minFreeBytes: number,
  recheck?: (current: Stats | null) => void
): Promise<{ name: string, stat: Stats }> {
  const temp = TEMP_PREFIX + randomBytes(12).toString('hex')
  const fh = await open(folder.at(temp), TEMP, 0o644)
  let closed = false
  let placed: string
  let stat: Stats
  try {
    let written = 0
    let nextCheck = SPACE_CHECK_BYTES
    // written chunk by chunk rather than through a WriteStream, which would hold the handle open
    // (FileHandle.close waits for it) and never fsync
    for await (const chunk of body as AsyncIterable<Buffer>) {
      await fh.write(chunk)
      written += chunk.length
      if (written >= nextCheck) {
        nextCheck += SPACE_CHECK_BYTES
        checkSpace(folder, 0, minFreeBytes)
      }
    }
    await fh.sync()
    stat = await fh.stat()
    await fh.close()
    closed = true
    placed = await place(folder, temp, name, overwrite, recheck)
  } catch (err) {
    if (!closed) await fh.close()
    await rm(folder.at(temp), { force: true })
    throw DISK_FULL.has((err as NodeJS.ErrnoException).code as string) ? new InsufficientStorageError() : err
  }
  // linked: the temporary name goes too (renamed: it is gone already)
  if (overwrite !== 'always') await unlink(folder.at(temp))
  // the new name itself survives a crash too
  fsyncSync(folder.fd)
  return { name: placed, stat }
}

/** Links (or under `always` renames) the written temporary file to its name. */
async function place (folder: UploadFolder, temp: string, name: string, overwrite: Overwrite, recheck?: (current: Stats | null) => void): Promise<string> {
  if (overwrite === 'always') {
    // checked again just before: rename would replace a link or a folder's name otherwise, or a
    // file changed since the upload began (its If-Match)
    const now = existing(folder, name)
    recheck?.(now)
    await rename(folder.at(temp), folder.at(name))
    return name
  }
  for (let n = 0; n < (overwrite === 'rename' ? RENAME_TRIES : 1); n++) {
    const candidate = n === 0 ? name : renamed(name, n)
    try {
      await link(folder.at(temp), folder.at(candidate))
      return candidate
    } catch (err) {
      // anything but a taken name (EIO, a full folder) is the disk's failure, no test can make it
      /* c8 ignore next */
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  throw new ConflictError(overwrite === 'rename' ? `no free name like ${JSON.stringify(name)}` : `${JSON.stringify(name)} exists`)
}
