// The listing page's stylesheet and script. Served from `<prefix>/.serve-dir/` under names that
// carry their hash, so browsers keep them for a year, and the page's policy allows only them
// ('self', no inline script or style at all). The page works fully without the script: sorting
// and filtering are forms; the script makes filtering instant, shows dates in the reader's locale
// and adds keys.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'

// Read once, at start, from assets/ beside this module, in the sources and in dist/ (npm run build:ts
// copies it there; tsc does not). From __dirname, unlike user paths: they ship inside the package.
const read = (name: string): Buffer => readFileSync(path.join(__dirname, 'assets', name))

/** An asset's bytes (so that its size is theirs, whatever characters it holds), its name and its tag. */
function hashed (body: Buffer, ext: string): { name: string, body: Buffer, etag: string } {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12)
  return { name: `listing-${hash}.${ext}`, body, etag: `"${hash}"` }
}

/** The stylesheet and the script, each under a name that changes with its content. */
export const ASSETS = {
  css: hashed(read('listing.css'), 'css'),
  js: hashed(read('listing.js'), 'js')
}

/**
 * The folder, below the mount prefix, the assets are served from (a dot path: it never shadows a
 * served file by default).
 */
export const ASSET_DIR = '.serve-dir'
