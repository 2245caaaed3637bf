// Names an upload may take, and the temporary names uploads are written under. Upload names are
// attacker input (a PUT's URL, a form's file names): only a plain file name passes.
import { isUtf8 } from 'node:buffer'

/** Uploads are written under this prefix, in their target folder, then linked or renamed into place. */
export const TEMP_PREFIX = '.serve-dir-upload-'

/** A file being uploaded: never listed, served or archived, whatever `dotfiles` says. */
export function isTempName (name: string): boolean {
  return name.startsWith(TEMP_PREFIX)
}

/** The folder of the plugin's own assets, in every listing's URL space: never written. */
export const RESERVED = '.serve-dir'

/**
 * Why `name` may not be a file or folder name an upload creates, or `undefined`: empty, `.`, `..`,
 * a `/`, `\`, NUL or other control character, not UTF-8 (`raw`, the bytes as sent), over 255
 * bytes, or hidden when hidden names are.
 */
export function badName (name: string, showHidden: boolean, raw?: Buffer): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'an empty or dot name'
  // eslint-disable-next-line no-control-regex
  if (/[/\\\x00-\x1f\x7f]/.test(name)) return 'a slash, backslash or control character in the name'
  if ((raw !== undefined && !isUtf8(raw)) || name.includes('\uFFFD')) return 'a name that is not UTF-8'
  if (Buffer.byteLength(name) > 255) return 'a name longer than 255 bytes'
  if (name === RESERVED || isTempName(name)) return 'a name the server keeps for itself'
  if (!showHidden && name.charCodeAt(0) === 0x2e) return 'a hidden name'
  return undefined
}
