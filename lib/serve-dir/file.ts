// Sends one regular file with complete HTTP semantics: strong validators, preconditions, single and
// multiple ranges, precompressed sidecars and on-the-fly compression, from a cache of small files
// that is checked against a fresh stat on every request, so it never serves stale bytes.
import path from 'node:path'
import type { Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { Readable, pipeline } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import mime from 'mime-types'
import compressible from 'compressible'
import { create as createDisposition } from 'content-disposition'
import {
  cacheControl, contentRange, encodedEtag, evaluatePreconditions, ifRangeHolds, metadataEtag,
  multipartParts, pickEncoding, planRanges, type ByteRange, type Coding, type RequestHeaders
} from './http'
import { addVary, sendError } from './respond'
import { compressBuffer, compressor } from './coding'
import { openVerified, proveSync } from './proof'

export interface FileOptions {
  /** Seconds a response may be reused without revalidation; 0 sends `Cache-Control: no-cache`. */
  maxAge: number
  /** Mark responses `immutable` (with a `maxAge`). */
  immutable: boolean
  /** Compress compressible types on the fly (gzip, brotli) for clients that accept it. */
  compress: boolean
  /** Serve `name.br` / `name.gz` next to `name` to clients that accept them. */
  precompressed: boolean
  /** Smallest body, in bytes, worth compressing on the fly. */
  threshold: number
  /** Files up to this size are kept in memory (validated by stat on every request). */
  cacheFileBytes: number
  /** Total bytes of file contents kept in memory. */
  cacheTotalBytes: number
  /** Files whose metadata (and maybe contents) are kept. */
  cacheEntries: number
  /** Send HTML, XHTML and SVG as attachments, so that they never run as pages of this origin. */
  downloadHtml: boolean
  /** A file changed less than this many milliseconds before it is read is not kept. Default 2,000. */
  racyMs?: number
}

/** Types a browser would run as a page (scripts included) of our origin. */
const ACTIVE_TYPES = /^(?:text\/html|application\/xhtml\+xml|image\/svg\+xml)\b/

/** Finds a sibling file (a sidecar) under the same policies as the file itself. */
export type SiblingLookup = (dir: string, name: string) => { path: string, stat: Stats } | null

interface Version { dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number }

/** What one version of a file looks like to HTTP, computed once per version. */
interface Meta extends Version {
  etag: string
  lastModified: number
  headers: Record<string, string>
  type: string
  compressible: boolean
  body?: Promise<Buffer | null>
  coded: Partial<Record<Coding, Promise<Buffer>>>
  bytes: number
}

/** Read chunk for streamed files: bigger chunks mean fewer round trips to the thread pool. */
const STREAM_CHUNK = 512 * 1024
const CODINGS: readonly Coding[] = ['br', 'gzip']
const SIDECAR: Record<Coding, string> = { br: '.br', gzip: '.gz' }

/**
 * A file changed less than this long before it was read is not kept (git's "racily clean"): a
 * write sets the file's times when it starts, so its version can look final while it is still
 * under way, and bytes read then would be kept, torn, under the final version for good.
 */
const RACY_MS = 2000

function sameVersion (a: Version, b: Version): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

/** The Content-Type a file is served with, from its extension. */
export function typeOf (file: string): string {
  const ext = path.extname(file).toLowerCase()
  return SOURCE_TYPES[ext] ?? (mime.contentType(ext) || 'application/octet-stream')
}

/**
 * TypeScript sources are shown as text, as Python shows them (its table says text/*), where
 * mime-db's `.ts` is an MPEG transport stream (video/mp2t) that a browser downloads. HLS players
 * read their segments by script and do not need the type.
 */
const SOURCE_TYPES: Record<string, string> = Object.fromEntries(['.ts', '.mts', '.cts', '.tsx'].map((ext) => [ext, 'text/plain; charset=utf-8']))

/** Unknown binary data (octet-stream) gains nothing from compression, whatever mime-db says. */
export function isCompressible (type: string): boolean {
  return !type.startsWith('application/octet-stream') && compressible(type) === true
}

export class FileResponder {
  private readonly metas = new Map<string, Meta>()
  private cachedBytes = 0
  private readonly cacheControl: string

  /**
   * @param verifyPath check that each opened file sits at the very real path looked up (every
   *   policy but `follow`, where links are trusted and the path need not be real)
   */
  constructor (private readonly opts: FileOptions, private readonly sibling: SiblingLookup, private readonly verifyPath = true) {
    this.cacheControl = cacheControl(opts)
  }

  /** The metadata of this version of `file`, from the cache when the stat still matches. */
  private meta (file: string, stat: Stats): Meta {
    const known = this.metas.get(file)
    if (known !== undefined && sameVersion(known, stat)) {
      // most recently used goes last, so eviction takes the oldest first
      this.metas.delete(file)
      this.metas.set(file, known)
      return known
    }
    if (known !== undefined) this.forget(file, known)
    const type = typeOf(file)
    const etag = metadataEtag(stat)
    const lastModified = Math.floor(stat.mtimeMs / 1000) * 1000
    const meta: Meta = {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      ctimeMs: stat.ctimeMs,
      etag,
      lastModified,
      type,
      compressible: isCompressible(type),
      headers: {
        'content-type': type,
        'last-modified': new Date(lastModified).toUTCString(),
        'cache-control': this.cacheControl,
        'accept-ranges': 'bytes',
        'x-content-type-options': 'nosniff',
        ...(this.opts.downloadHtml && ACTIVE_TYPES.test(type) ? { 'content-disposition': createDisposition(path.basename(file)) } : {})
      },
      coded: {},
      bytes: 0
    }
    this.metas.set(file, meta)
    if (this.metas.size > this.opts.cacheEntries) this.forget(this.metas.keys().next().value as string)
    return meta
  }

  private forget (file: string, meta = this.metas.get(file) as Meta): void {
    this.metas.delete(file)
    this.cachedBytes -= meta.bytes
  }

  private account (file: string, meta: Meta, bytes: number): void {
    if (this.metas.get(file) !== meta) return // evicted or replaced meanwhile: nothing is kept
    meta.bytes += bytes
    this.cachedBytes += bytes
    // oldest first; the file just read may go too, its bytes still answer the request at hand
    for (const [key, m] of this.metas) {
      if (this.cachedBytes <= this.opts.cacheTotalBytes) break
      this.forget(key, m)
    }
  }

  /** The file's bytes when it is small enough to keep, read once per version; `null` if it changed while read. */
  private body (file: string, meta: Meta): Promise<Buffer | null> {
    meta.body ??= (async () => {
      const fh = await openVerified(file, meta, this.verifyPath)
      try {
        const started = Date.now()
        const data = await fh.readFile()
        if (data.length !== meta.size) return null
        // kept only when nothing can have been writing it: the same version after the read, and
        // not changed just before it; else the bytes answer the requests waiting now, no more
        if (!sameVersion(meta, await fh.stat()) || started - Math.max(meta.mtimeMs, meta.ctimeMs) < (this.opts.racyMs ?? RACY_MS)) {
          meta.body = undefined
          return data
        }
        this.account(file, meta, data.length)
        return data
      } finally {
        await fh.close()
      }
    })()
    // a failed read (EACCES, a file gone since the stat) is not remembered
    meta.body.catch(() => { meta.body = undefined })
    return meta.body
  }

  private coded (file: string, meta: Meta, coding: Coding, data: Buffer): Promise<Buffer> {
    // bytes that were not kept (read too soon after a change) are not kept compressed either
    if (meta.body === undefined) return compressBuffer(data, coding)
    let done = meta.coded[coding]
    if (done === undefined) {
      done = compressBuffer(data, coding)
      meta.coded[coding] = done

      done.then((b) => { this.account(file, meta, b.length) }, () => { meta.coded[coding] = undefined })
    }
    return done
  }

  /** Answers GET or HEAD for the regular file at `file` (a path the caller has vetted). */
  async send (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats): Promise<FastifyReply> {
    const h = req.headers as RequestHeaders
    const head = req.method === 'HEAD'
    // A response that may tell the file's length, date or tag without reading it (HEAD, 304, 412,
    // 416) first proves, as a read does, that the file at `file` is the one looked up: a writer of
    // the folder could have swapped a link to outside the root in between.
    if (head || h.range !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined ||
      h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined) {
      proveSync(file, stat, this.verifyPath)
    }
    const meta = this.meta(file, stat)
    reply.headers(meta.headers)

    // Content coding: never for a Range request, so byte offsets always mean the file's own bytes.
    const wantsRange = h.range !== undefined
    const canCompress = this.opts.compress && meta.compressible && meta.size >= this.opts.threshold
    if (canCompress || this.opts.precompressed) addVary(reply, 'Accept-Encoding')
    if (!wantsRange && h['accept-encoding'] !== undefined) {
      for (let offered = [...CODINGS]; offered.length > 0;) {
        const coding = pickEncoding(h['accept-encoding'], offered)
        if (coding === undefined) break
        const side = this.opts.precompressed ? this.sibling(path.dirname(file), path.basename(file) + SIDECAR[coding]) : null
        if (side?.stat.isFile() === true) return await this.sendSidecar(req, reply, side.path, side.stat, coding, meta)
        if (canCompress) return await this.sendCompressed(req, reply, file, meta, coding)
        offered = offered.filter((c) => c !== coding)
      }
    }

    reply.header('etag', meta.etag)
    const pre = evaluatePreconditions(req.method, h, meta)
    if (pre !== 'proceed') return this.refuse(req, reply, pre)

    const plan = wantsRange && ifRangeHolds(h, meta) ? planRanges(meta.size, h.range) : { kind: 'full' as const }
    if (plan.kind === 'unsatisfiable') {
      return sendError(req, reply, 416, `Range not satisfiable: the file has ${meta.size} bytes`, undefined, { 'content-range': contentRange(meta.size) })
    }
    const cached = meta.size <= this.opts.cacheFileBytes && !head ? await this.body(file, meta) : null

    if (plan.kind === 'full') {
      reply.header('content-length', meta.size)
      if (head) return reply.send()
      return reply.send(cached ?? await this.stream(file, meta, 0, meta.size - 1, req, reply))
    }
    if (plan.ranges.length === 1) {
      const [r] = plan.ranges
      reply.code(206).header('content-range', contentRange(meta.size, r)).header('content-length', r.end - r.start + 1)
      if (head) return reply.send()
      return reply.send(cached !== null ? cached.subarray(r.start, r.end + 1) : await this.stream(file, meta, r.start, r.end, req, reply))
    }
    const boundary = randomBytes(12).toString('hex')
    const parts = multipartParts(boundary, meta.type, meta.size, plan.ranges)
    reply.code(206).type(`multipart/byteranges; boundary=${boundary}`).header('content-length', parts.length)
    if (head) return reply.send()
    const fh = cached === null ? await openVerified(file, meta, this.verifyPath) : null
    return reply.send(closingWith(fh, Readable.from(multipart(fh, cached, plan.ranges, parts))))
  }

  /** 304 keeps the validators and no body; 412 is an error page like any other. */
  private refuse (req: FastifyRequest, reply: FastifyReply, status: 304 | 412): FastifyReply {
    if (status === 304) return reply.code(304).send()
    return sendError(req, reply, 412, 'Precondition failed: the file has changed')
  }

  /** Bytes `start`..`end` of the file, read from one verified descriptor; a file that shrinks meanwhile ends the response with an error. */
  private async stream (file: string, stat: Version, start: number, end: number, req?: FastifyRequest, reply?: FastifyReply): Promise<Readable> {
    const fh = await openVerified(file, stat, this.verifyPath)
    // HTTP/1 only, where the response's queue is its socket's (HTTP/2 multiplexes a session)
    const res = req?.raw.httpVersionMajor === 1 ? reply?.raw : undefined
    const pending = res === undefined ? undefined : () => res.writableLength
    return closingWith(fh, Readable.from(readRange(fh, start, end, false, pending), { objectMode: false }))
  }

  private async sendSidecar (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats, coding: Coding, original: Meta): Promise<FastifyReply> {
    const etag = encodedEtag(metadataEtag(stat), coding)
    const validators = { etag, lastModified: original.lastModified }
    reply.header('etag', etag).header('content-encoding', coding)
    const pre = evaluatePreconditions(req.method, req.headers as RequestHeaders, validators)
    if (pre !== 'proceed') return this.refuse(req, reply, pre)
    reply.header('content-length', stat.size)
    if (req.method === 'HEAD') return reply.send()
    return reply.send(await this.stream(file, stat, 0, stat.size - 1, req, reply))
  }

  private async sendCompressed (req: FastifyRequest, reply: FastifyReply, file: string, meta: Meta, coding: Coding): Promise<FastifyReply> {
    const etag = encodedEtag(meta.etag, coding)
    reply.header('etag', etag).header('content-encoding', coding)
    const pre = evaluatePreconditions(req.method, req.headers as RequestHeaders, { etag, lastModified: meta.lastModified })
    if (pre !== 'proceed') return this.refuse(req, reply, pre)
    if (meta.size <= this.opts.cacheFileBytes) {
      const data = await this.body(file, meta)
      if (data !== null) {
        const coded = await this.coded(file, meta, coding, data)
        reply.header('content-length', coded.length)
        return reply.send(req.method === 'HEAD' ? undefined : coded)
      }
    }
    // big files are compressed as they stream: no length is known up front, for GET or HEAD
    if (req.method === 'HEAD') return reply.send()
    const source = await this.stream(file, meta, 0, meta.size - 1)
    // pipeline() destroys both ends on an error in either; Fastify sees it on the coder
    return reply.send(pipeline(source, compressor(coding), () => {}))
  }
}

/**
 * Reads `start`..`end` (inclusive) from `fh` in big chunks, then closes it unless `keepOpen`.
 *
 * A fresh buffer per chunk would leave a 100 MiB download's worth of garbage for the GC to find
 * late (RSS grows by tens of MiB). Two buffers take turns instead: when the next chunk is asked
 * for, the last one has been written to the socket (the stream asks only once its own queue is
 * empty), and writes leave in order, so if no more than the last chunk is still queued
 * (`pending()`), the one before it is out and its buffer is free again.
 */
export async function * readRange (fh: FileHandle, start: number, end: number, keepOpen = false, pending?: () => number, chunkSize = STREAM_CHUNK): AsyncGenerator<Buffer> {
  let older: Buffer | undefined
  let last: Buffer | undefined
  let lastLength = 0
  try {
    for (let pos = start; pos <= end;) {
      const want = Math.min(chunkSize, end - pos + 1)
      const reuse = older !== undefined && pending !== undefined && pending() <= lastLength ? older : undefined
      const { bytesRead, buffer } = await fh.read(reuse ?? Buffer.allocUnsafeSlow(chunkSize), 0, want, pos)
      if (bytesRead === 0) throw new Error(`file shrank while being sent: ended at byte ${pos} of ${end + 1}`)
      pos += bytesRead
      older = last
      last = buffer
      lastLength = bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    if (!keepOpen) await fh.close()
  }
}

/**
 * `stream`, read from `fh`, which is closed when the stream closes: also when it is destroyed
 * before it was ever read (a client gone as its answer began), where the generator behind it,
 * never started, runs no `finally` and the descriptor waited for the garbage collector.
 */
export function closingWith (fh: FileHandle | null, stream: Readable): Readable {
  if (fh !== null) stream.once('close', () => { fh.close().catch(() => {}) })
  return stream
}

/** A multipart/byteranges body: each part's head, then its bytes, from memory or from `fh`. */
async function * multipart (fh: FileHandle | null, cached: Buffer | null, ranges: ByteRange[], parts: { heads: string[], tail: string }): AsyncGenerator<Buffer | string> {
  try {
    for (let i = 0; i < ranges.length; i++) {
      yield parts.heads[i]
      const { start, end } = ranges[i]
      if (cached !== null) {
        yield cached.subarray(start, end + 1)
      } else {
        // each range reads through the same descriptor, closed once at the end
        for await (const chunk of readRange(fh as FileHandle, start, end, true)) yield chunk
      }
    }
    yield parts.tail
  } finally {
    await fh?.close()
  }
}
