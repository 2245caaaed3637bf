import zlib from 'node:zlib'
import { promisify } from 'node:util'
import type { Transform } from 'node:stream'
import type { Coding } from './http'

/** The codings we make or find as sidecars, in the order we prefer them. */
export const CODINGS: readonly Coding[] = ['br', 'gzip']

const gzip = promisify(zlib.gzip)
const brotli = promisify(zlib.brotliCompress)
// quality 5 of 11: most of brotli's gain at a fraction of its top quality's time, as on-the-fly servers use
const BROTLI = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }

/** Compresses a whole body (in libuv's thread pool). */
export function compressBuffer (data: Buffer, coding: Coding): Promise<Buffer> {
  return coding === 'br' ? brotli(data, BROTLI) : gzip(data)
}

/** A streaming compressor for bodies too big to hold. */
export function compressor (coding: Coding): Transform {
  return coding === 'br' ? zlib.createBrotliCompress(BROTLI) : zlib.createGzip()
}
