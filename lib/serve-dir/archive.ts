// "Download this folder": a zip or a tar.gz streamed as it is made (each file is read in chunks as
// the client takes them), from a walk under the listing's policies, taken one item at a time.
// Every file is opened through the same proof as a served file.
import { Readable, pipeline } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { once } from 'node:events'
import zlib from 'node:zlib'
import type { WalkItem } from './directory'
import { closingWith, isCompressible, readRange, typeOf } from './file'
import { openVerified } from './proof'

export type ArchiveFormat = 'zip' | 'tar.gz'

/** What tar-stream's entry is to us: something to write to, with backpressure. */
type Sink = EventEmitter & { write: (b: Buffer) => boolean, end: () => void }

export const ARCHIVE_TYPES: Record<ArchiveFormat, string> = { zip: 'application/zip', 'tar.gz': 'application/gzip' }

/** Opens one vetted file and reads exactly its `size` bytes; a file that changed meanwhile fails the archive. */
async function contents (item: WalkItem, verifyPath: boolean): Promise<Readable> {
  const fh = await openVerified(item.path, item.stat, verifyPath)
  // small reads: an archive passes each chunk through more hands before the socket, and garbage
  // of big ones would hold a 1 GiB download at idle + 40 MiB (16 KiB: idle + 30 MiB, 160 MiB/s)
  return closingWith(fh, Readable.from(readRange(fh, 0, item.stat.size - 1, false, undefined, 16 * 1024), { objectMode: false }))
}

/** Deflate what compresses; store the rest (media, archives, unknown binaries): far faster, no bigger. */
function deflates (name: string): boolean {
  return isCompressible(typeOf(name))
}

/**
 * The archive as a stream, made as it is read from `items`, taken one at a time as the archive
 * reaches them (a zip keeps a few files ahead). `signal` stops the work at once when the client
 * goes away: no more files are opened, the one being read is closed, the walk ends.
 */
export function archive (format: ArchiveFormat, items: AsyncIterable<WalkItem>, verifyPath: boolean, signal: AbortSignal): Readable {
  return format === 'zip' ? zip(items, verifyPath, signal) : tarGz(items, verifyPath, signal)
}

/**
 * Whether a path can go into a zip as it is. Zip names use `/` only: yazl turns a `\` (a valid
 * POSIX name character) into `/`, which would merge `a\b.txt` with `a/b.txt` or make `\x` absolute,
 * and it refuses names that start like a drive (`C:x`). Those stay out of the zip (tar keeps them).
 */
export function zipSafe (rel: string): boolean {
  return !rel.includes('\\') && !/^[a-zA-Z]:/.test(rel)
}

/**
 * The zip, with every entry added as the walk finds it. Not constant memory for many files: yazl
 * keeps every entry for the central directory, and its pump looks for the next entry from the
 * first one each time (yazl index.js:219-226, quadratic: 100,000 files take 100 s of CPU); feeding
 * it a few files ahead cost 1.5 times that and saved nothing. The tar.gz is the constant-memory one.
 */
function zip (items: AsyncIterable<WalkItem>, verifyPath: boolean, signal: AbortSignal): Readable {
  // the writers load the first time a folder is downloaded, not when the server starts
  const { ZipFile } = require('yazl') as typeof import('yazl')
  const z = new ZipFile()
  const out = z.outputStream as unknown as Readable
  signal.addEventListener('abort', () => { out.destroy() }, { once: true })
  // a file that failed (gone, changed, aborted) fails the archive: the client sees a cut download
  ;(z as unknown as EventEmitter).on('error', (err: Error) => { out.destroy(err) })
  const feed = async (): Promise<void> => {
    let leftOut = 0
    for await (const item of items) {
      if (out.destroyed) return
      if (!zipSafe(item.rel)) {
        leftOut++
        continue
      }
      if (item.rel.endsWith('/')) {
        z.addEmptyDirectory(item.rel, { mtime: item.stat.mtime })
        continue
      }
      // lazily: a file is opened only when the archive reaches it
      z.addReadStreamLazy(item.rel, { mtime: item.stat.mtime, mode: item.stat.mode, size: item.stat.size, compress: deflates(item.rel) }, (cb) => {
        if (signal.aborted) return cb(new Error('aborted'), undefined as never)
        contents(item, verifyPath).then((stream) => cb(null, stream), (err: Error) => cb(err, undefined as never))
      })
    }
    // said where an unzip tool shows it (unzip -l, zipinfo); the request log says it too
    const comment = leftOut === 0 ? '' : `${leftOut} entries are not in this zip: their names hold a backslash or start like a drive letter. The tar.gz has them.`
    z.end({ forceZip64Format: false, comment })
  }
  feed().catch((err: Error) => { out.destroy(err) })
  return out
}

function tarGz (items: AsyncIterable<WalkItem>, verifyPath: boolean, signal: AbortSignal): Readable {
  const tar = (require('tar-stream') as typeof import('tar-stream')).pack()
  // the fastest level: archives are mostly bytes that are already compressed, and the network waits
  const gz = zlib.createGzip({ level: zlib.constants.Z_BEST_SPEED })
  pipeline(tar, gz, () => {})
  const fill = async (): Promise<void> => {
    for await (const item of items) {
      if (signal.aborted) break
      const header = { name: item.rel, mtime: item.stat.mtime, mode: item.stat.mode & 0o777 }
      if (item.rel.endsWith('/')) {
        tar.entry({ ...header, type: 'directory' })
        continue
      }
      const source = await contents(item, verifyPath)
      // one entry at a time: the next header may follow only when this entry's bytes are in
      await new Promise<void>((resolve, reject) => {
        const entry = tar.entry({ ...header, size: item.stat.size }, (err) => { if (err) reject(err); else resolve() }) as unknown as Sink
        const pump = async (): Promise<void> => {
          for await (const chunk of source as AsyncIterable<Buffer>) {
            // a client gone stops the entry at once, the same way whether it left before or during a wait for drain
            signal.throwIfAborted()
            if (!entry.write(chunk)) await once(entry, 'drain', { signal })
          }
          entry.end()
        }
        pump().catch(reject)
      })
    }
    tar.finalize()
  }
  fill().catch((err: Error) => { gz.destroy(err) })
  signal.addEventListener('abort', () => { tar.destroy() }, { once: true })
  return gz
}
