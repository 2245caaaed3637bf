// A folder read safely, for listings and archives alike: opened and proven to be the folder a
// lookup vetted, then read through its descriptor, whatever its path means by then.
import { closeSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { isUtf8 } from 'node:buffer'
import { openVerifiedSync, throughDescriptor, type Identity } from '../fs/verified-open'
import { NotFoundError } from '../errors'
import { isGone } from '../fs/errno'
import { sortNames } from './render'
import { isTempName } from '../upload/names'

/**
 * A folder opened and proven to be the one a lookup vetted: its names are read, and its entries
 * stat'ed, through `base`, which reaches the open folder whatever its path means by then (a writer
 * could swap it with a link to outside the root).
 */
export interface Folder { base: string, close: () => void }

/**
 * Opens `dir` and proves it is the folder `expected` (the lookup's stat); `null` when it is gone or
 * no longer that folder.
 * @param verifyPath check that it sits at its very real path (every policy but `follow`)
 */
export function openFolder (dir: string, expected: Identity, verifyPath: boolean): Folder | null {
  let fd: number
  try {
    fd = openVerifiedSync(dir, expected, verifyPath, true)
  } catch (err) {
    if (err instanceof NotFoundError || isGone(err)) return null
    /* c8 ignore next 2 */ // EACCES, which root never gets: test/e2e/unreadable.test.ts runs unprivileged
    throw err
  }
  let open = true
  return { base: throughDescriptor(fd, dir), close: () => { if (open) closeSync(fd); open = false } }
}

/**
 * Visible names of the folder at `dir` (an opened folder's base) in name order; `null` when it is
 * gone. Names only: no object per entry for 100,000.
 */
export async function readNames (dir: string, showHidden: boolean): Promise<string[] | null> {
  let names: string[]
  try {
    names = await readdir(dir)
    // a name that is not valid UTF-8 reads with U+FFFD in its place: it can be neither served nor
    // told from a name really written so; it is left out (only folders with a U+FFFD read twice)
    if (names.some((n) => n.includes('\uFFFD'))) names = (await readdir(dir, { encoding: 'buffer' })).filter((b) => isUtf8(b)).map(String)
  /* c8 ignore start */ // read through a descriptor opened just before: only a folder removed in between, a race
  // no test can time, or EACCES, which root never gets (test/e2e/unreadable.test.ts runs unprivileged)
  } catch (err) {
    if (isGone(err)) return null
    throw err
  }
  /* c8 ignore stop */
  // an upload being written is never shown, whatever dotfiles says
  return sortNames(showHidden ? names.filter((n) => !isTempName(n)) : names.filter((n) => n.charCodeAt(0) !== 0x2e))
}
