// The proof that an open descriptor is the file or folder a lookup vetted. Between checking a path
// and opening it, a writer of the served folder could swap in a link to outside the root, or a
// FIFO: so every file is opened non-blocking (a FIFO cannot hang it), every folder and file
// without following a last link (unless links are followed), and then the descriptor itself is
// checked. Used for served files, HEAD and 304 answers, listings and archives.
import { closeSync, constants, existsSync, fstatSync, openSync, readlinkSync, realpathSync, type Stats } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { NotFoundError } from '../errors'

/** What a lookup vetted: the inode the descriptor must be. */
export interface Identity { dev: number, ino: number }

const FILE = constants.O_RDONLY | constants.O_NONBLOCK
const FOLDER = constants.O_RDONLY | constants.O_DIRECTORY
const PROC_FD = existsSync('/proc/self/fd')

function flags (kind: number, verifyPath: boolean): number {
  return kind | (verifyPath ? constants.O_NOFOLLOW : 0)
}

/**
 * Where the kernel says an open descriptor is: exact on Linux (`/proc/self/fd`); elsewhere the real
 * path of `file` now.
 */
function openedPath (fd: number, file: string): string {
  /* c8 ignore next */ // no /proc (macOS, BSD): a narrower window, not none
  return PROC_FD ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(file)
}

/** Whether open `fd`, stat'ed as `s`, is the vetted inode and (when `verifyPath`) at exactly `file`. */
function proven (fd: number, s: Stats, file: string, expected: Identity, verifyPath: boolean): boolean {
  return s.ino === expected.ino && s.dev === expected.dev && (!verifyPath || openedPath(fd, file) === file)
}

/** Opens the regular file `file` for reading and proves it is `expected`; `NotFoundError` if not. */
export async function openVerified (file: string, expected: Identity, verifyPath: boolean): Promise<FileHandle> {
  const fh = await open(file, flags(FILE, verifyPath))
  try {
    const s = await fh.stat()
    if (!s.isFile() || !proven(fh.fd, s, file, expected, verifyPath)) throw new NotFoundError()
    return fh
  } catch (err) {
    await fh.close()
    throw err
  }
}

/**
 * {@link openVerified} in this thread, for a file or a folder; the caller closes the descriptor.
 * For a file with nothing to read after (HEAD, 304), four system calls: through the thread pool a
 * 304 cost three times as much.
 */
export function openVerifiedSync (file: string, expected: Identity, verifyPath: boolean, folder = false): number {
  const fd = openSync(file, flags(folder ? FOLDER : FILE, verifyPath))
  try {
    const s = fstatSync(fd)
    if (!(folder ? s.isDirectory() : s.isFile()) ||
        !proven(fd, s, file, expected, verifyPath)) throw new NotFoundError()
    return fd
  } catch (err) {
    closeSync(fd)
    throw err
  }
}

/** {@link openVerifiedSync}'s proof with nothing to read after. */
export function proveSync (file: string, expected: Identity, verifyPath: boolean): void {
  closeSync(openVerifiedSync(file, expected, verifyPath))
}

/**
 * A path that reaches the open folder `fd` whatever its name means by now (`/proc/self/fd/N` on
 * Linux): names read or stat'ed through it are the proven folder's. Elsewhere the folder's path.
 */
export function throughDescriptor (fd: number, dir: string): string {
  /* c8 ignore next */ // no /proc (macOS, BSD): a narrower window, not none
  return PROC_FD ? `/proc/self/fd/${fd}` : dir
}
