// "Download this folder": a zip or a tar.gz streamed as it is made (each file is read in chunks as
// the client takes them), from a walk under the listing's policies, taken one item at a time.
// Every file is opened through the same proof as a served file.
import { Readable, pipeline } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { once } from 'node:events'
import zlib from 'node:zlib'
import type { WalkItem } from './walk'
import type { FileHandle } from 'node:fs/promises'
import { isCompressible, typeOf } from '../file/responder'
import { openVerified } from '../fs/verified-open'
import type ZipStream from 'zip-stream'
import type { FileDataInput, ZipStreamOptions } from 'zip-stream'

export type ArchiveFormat = 'zip' | 'tar.gz'

/** What tar-stream's entry is to us: something to write to, with backpressure. */
type Sink = EventEmitter & { write: (b: Buffer) => boolean, end: () => void }

export const ARCHIVE_TYPES: Record<ArchiveFormat, string> = { zip: 'application/zip', 'tar.gz': 'application/gzip' }

/**
 * Opens one vetted file and reads exactly its `size` bytes; a file that changed meanwhile fails
 * the archive. A client gone while it opened fails it too, and the file is closed at once.
 */
async function contents (item: WalkItem, verifyPath: boolean, signal: AbortSignal): Promise<Readable> {
  const fh = await openVerified(item.path, item.stat, verifyPath)
  // small reads: an archive passes each chunk through more hands before the socket, and garbage
  // of big ones would hold a 1 GiB download at idle + 40 MiB (16 KiB: idle + 30 MiB, 160 MiB/s)
  const stream = Readable.from(readAll(fh, item.stat.size, 16 * 1024), { objectMode: false })
  // closed with the stream: also when it is destroyed before it was ever read, where the
  // generator, never started, runs no `finally` and the descriptor waited for the garbage collector
  stream.once('close', () => { fh.close().catch(() => {}) })
  if (signal.aborted) stream.destroy()
  signal.throwIfAborted()
  return stream
}

/** Exactly `size` bytes of `fh`, in chunks; a file that shrank meanwhile fails the read. */
async function * readAll (fh: FileHandle, size: number, chunkSize: number): AsyncGenerator<Buffer> {
  for (let pos = 0; pos < size;) {
    const { bytesRead, buffer } = await fh.read(
      Buffer.allocUnsafeSlow(Math.min(chunkSize, size - pos)),
      0,
      Math.min(chunkSize, size - pos),
      pos
    )
    if (bytesRead === 0) throw new Error(`file shrank while being sent: ended at byte ${pos} of ${size}`)
    pos += bytesRead
    yield buffer.subarray(0, bytesRead)
  }
}

/** Deflate what compresses; store the rest (media, archives, unknown binaries): far faster, no bigger. */
function deflates (name: string): boolean {
  return isCompressible(typeOf(name))
}

/**
 * The archive as a stream, made as it is read from `items`, taken one at a time as the archive
 * reaches them. `signal` stops the work at once when the client goes away: no more files are
 * opened, the one being read is closed, the walk ends.
 */
export async function archive (
  format: ArchiveFormat,
  items: AsyncIterable<WalkItem>,
  verifyPath: boolean,
  signal: AbortSignal
): Promise<Readable> {
  return format === 'zip' ? await zip(items, verifyPath, signal) : tarGz(items, verifyPath, signal)
}

/**
 * Whether a path can go into a zip as it is. Zip names use `/` only: zip-stream turns a `\` (a
 * valid POSIX name character) into `/`, which would merge `a\b.txt` with `a/b.txt`, and it cuts
 * a leading `word:` (a drive, `C:x`, or anything like it, `note:ok.txt`), which would make it a
 * second `ok.txt`. Those stay out of the zip (tar keeps them).
 */
export function zipSafe (rel: string): boolean {
  return !rel.includes('\\') && !/^\w+:/.test(rel)
}

/** Adds one entry and resolves when its bytes are all in: zip-stream takes entries one at a time. */
function addEntry (z: ZipStream, source: Readable | null, data: FileDataInput): Promise<void> {
  return new Promise((resolve, reject) => {
    z.entry(source, data, (err) => { if (err) reject(err); else resolve() })
  })
}

/** The parts of compress-commons' zip writer (under zip-stream) that `LowMemoryZip` changes. */
interface ZipInternals {
  options: { zlib: zlib.ZlibOptions }
  offset: number
  _entries: unknown[]
  _archive: { centralOffset: number, centralLength: number, processing: boolean, finish: boolean, finished: boolean }
  isZip64: () => boolean
  _writeLocalFileHeader: (entry: unknown) => void
  _writeDataDescriptor: (entry: unknown) => void
  _writeCentralFileHeader: (entry: unknown) => void
  _afterAppend: (entry: unknown) => void
  _writeCentralDirectoryZip64: () => void
  _writeCentralDirectoryEnd: () => void
  _finish: () => void
  write: (b: Buffer | string) => boolean
  once: (event: 'drain', listener: () => void) => void
  end: () => void
}

/**
 * zlib's window and hash no bigger than the file needs: the same compression, and 100,000 small
 * files do not each set up (and clear) 256 KiB of deflate state (7 s of CPU, and RSS that stays).
 */
export function deflateFor (size: number): zlib.ZlibOptions {
  // a match reaches back the window less 262 bytes; raw deflate takes windowBits 9 to 15
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(size + 262))))
  return { level: zlib.constants.Z_BEST_SPEED, windowBits, memLevel: Math.min(8, windowBits - 6) }
}

/** What `writeRecord` writes, as one buffer, not written. */
function collected (
  stream: ZipInternals,
  writeRecord: (this: ZipInternals, entry: unknown) => void,
  entry: unknown
): Buffer {
  const parts: Buffer[] = []
  // an ASCII name comes as a string
  stream.write = (b) => { parts.push(typeof b === 'string' ? Buffer.from(b) : b); return true }
  try {
    writeRecord.call(stream, entry)
  } finally {
    delete (stream as Partial<ZipInternals>).write
  }
  return Buffer.concat(parts)
}

/** Writes what `writeRecord` writes in one write instead of one for each field. */
function joined (writeRecord: (this: ZipInternals, entry: unknown) => void) {
  return function (this: ZipInternals, entry: unknown): void {
    this.write(collected(this, writeRecord, entry))
  }
}

let LowMemoryZip: (new (options: ZipStreamOptions) => ZipStream) | undefined

/**
 * zip-stream, with what it keeps for each file made small and its central directory written as
 * it is read. As it is, it keeps every entry's object (~0.5 KB) to the end, writes a header as
 * up to 17 small buffers, and the whole central directory at once: 100,000 files, 1.7 million
 * writes queued at the end and 900 MiB at the peak. Here each file's central-directory record is
 * made as soon as the file is in (~100 bytes kept) and written in 64 KiB pieces the reader takes.
 */
async function lowMemoryZip (): Promise<new (options: ZipStreamOptions) => ZipStream> {
  if (LowMemoryZip !== undefined) return LowMemoryZip
  const { default: ZipStream } = await import('zip-stream')
  const base = ZipStream.prototype as unknown as ZipInternals
  class Zip extends ZipStream {}
  const proto = Zip.prototype as unknown as ZipInternals
  proto._writeLocalFileHeader = joined(base._writeLocalFileHeader)
  proto._writeDataDescriptor = joined(base._writeDataDescriptor)
  // the entry, kept as its record (the count of entries is what the end records need of them)
  proto._afterAppend = function (this: ZipInternals, entry: unknown): void {
    base._afterAppend.call(this, entry)
    this._entries[this._entries.length - 1] = collected(this, base._writeCentralFileHeader, entry)
  }
  // compress-commons' _finish, with the records kept and a wait for the reader
  proto._finish = function (this: ZipInternals): void {
    this._archive.centralOffset = this.offset
    const records = this._entries as Buffer[]
    let next = 0
    const more = (): void => {
      while (next < records.length) {
        const piece: Buffer[] = []
        let size = 0
        while (next < records.length && size < 64 * 1024) size += piece[piece.push(records[next++]) - 1].length
        if (!this.write(Buffer.concat(piece, size))) return this.once('drain', more)
      }
      this._archive.centralLength = this.offset - this._archive.centralOffset
      /* c8 ignore next */ // more than 65,535 entries or 4 GiB: the 100,000-file zip of npm run attack
      if (this.isZip64()) this._writeCentralDirectoryZip64()
      this._writeCentralDirectoryEnd()
      Object.assign(this._archive, { processing: false, finish: true, finished: true })
      this.end()
    }
    more()
  }
  LowMemoryZip = Zip
  return Zip
}

/**
 * The zip, with each entry added when the one before it is written (zip-stream, from archiver):
 * the walk is read as the client reads, and what is kept per file is its central-directory
 * record (~100 bytes: the central directory goes at the end of every zip).
 */
async function zip (items: AsyncIterable<WalkItem>, verifyPath: boolean, signal: AbortSignal): Promise<Readable> {
  // the writers load the first time a folder is downloaded, not when the server starts
  const ZipStream = await lowMemoryZip()
  let leftOut = 0
  const z = new ZipStream({ zlib: { level: zlib.constants.Z_BEST_SPEED } })
  const out = z as unknown as Readable & AsyncIterable<Buffer>
  let reading: Readable | null = null
  // the file being read is closed too: zip-stream pipes it in, and a pipe does not pass a destroy
  // back (the entry then never ends, and the walk waiting on it is dropped with the rest)
  const stop = (): void => { reading?.destroy(); out.destroy() }
  if (signal.aborted) stop()
  else signal.addEventListener('abort', stop, { once: true })
  const feed = async (): Promise<void> => {
    for await (const item of items) {
      if (signal.aborted) return
      if (!zipSafe(item.rel)) {
        leftOut++
        continue
      }
      const header = { name: item.rel, date: item.stat.mtime, mode: item.stat.mode & 0o777 }
      if (item.rel.endsWith('/')) {
        await addEntry(z, null, { ...header, type: 'directory' })
        continue
      }
      // a file is opened only when the archive reaches it
      reading = await contents(item, verifyPath, signal)
      ;(z as unknown as ZipInternals).options.zlib = deflateFor(item.stat.size)
      await addEntry(z, reading, { ...header, store: !deflates(item.rel) })
    }
    // said where an unzip tool shows it (unzip -l, zipinfo), at the zip's end; the request log says it too
    if (leftOut > 0) z.setComment(`${leftOut} entries are not in this zip: their names hold a backslash or start like a drive (a word and a colon). The tar.gz has them.`)
    z.finalize()
  }
  // a file that failed (gone, changed, aborted) fails the archive: the client sees a cut download
  feed().catch((err: Error) => { out.destroy(err) })
  return Readable.from(joinedSmall(out), { objectMode: false })
}

/**
 * The chunks of `source`, the small ones joined up to 64 KiB: a zip of many small files is three
 * or four writes of a few dozen bytes each, and each would be a write to the socket of its own.
 * A file's 16 KiB reads go on as they are, after what was waiting.
 */
async function * joinedSmall (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = []
  let size = 0
  for await (const chunk of source) {
    if (chunk.length < 16 * 1024) {
      parts.push(chunk)
      size += chunk.length
      if (size < 64 * 1024) continue
    }
    if (size > 0) yield Buffer.concat(parts, size)
    if (chunk.length >= 16 * 1024) yield chunk
    parts = []
    size = 0
  }
  if (size > 0) yield Buffer.concat(parts, size)
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
      const source = await contents(item, verifyPath, signal)
      // one entry at a time: the next header may follow only when this entry's bytes are in
      await new Promise<void>((resolve, reject) => {
        const entry = tar.entry({ ...header, size: item.stat.size }, (err) => {
          if (err) reject(err); else resolve()
        }) as unknown as Sink
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
