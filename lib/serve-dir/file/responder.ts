// One regular file, answered by @fastify/static: `reply.sendFile` hands it to @fastify/send, which
// does the HTTP (ETag and Last-Modified, 304 and 412, Range with 206, 416 and If-Range, HEAD,
// Content-Length, the read stream). Around it, each layer adds one thing send lacks:
//   1. the verified open: send is given `/proc/self/fd/N` of a descriptor we opened and proved, so
//      it sends exactly the vetted file whatever its name means by then (a link or a FIFO swapped
//      in after the check), and every name works (it would refuse a backslash by name);
//   2. the type: ours, from the real name (send would see only a number);
//   3. codings: sidecars found under our policies (send's would follow a link out of the root),
//      compression on the fly with a tag per coding (@fastify/compress keeps the identity tag);
//   4. a file that shrinks while it is sent ends the connection (send's stream ends quietly and
//      the client waits for bytes that never come);
//   5. in front, for small files, answers to GET and HEAD (200, 304, one range) exactly as send's,
//      with send's own helpers, from one whole read; their metadata and compressed forms are
//      kept, never their bytes (no stat tells when bytes are final);
//   6. beside it, live reload's variant of a page: made whole here, with a tag of its own.
import path from 'node:path'
import { createHash } from 'node:crypto'
import { ReadStream, closeSync, readSync, type Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { Transform, pipeline, type Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic, { type SendOptions } from '@fastify/static'
import mime from 'mime-types'
import { LRUCache } from 'lru-cache'
import fresh from 'fresh'
import compressible from 'compressible'
import { create as createDisposition } from 'content-disposition'
import { CODINGS, cacheControl, codedEtag, compressBuffer, compressor, pickEncoding, type Coding } from '../http'
import { addVary } from '../error-page'
import { openVerified, openVerifiedSync, proveSync, throughDescriptor } from '../fs/verified-open'
import { inject, injectionPoint } from '../live/inject'
import { PreconditionFailedError } from '../errors'
import type { ClientSlots } from '../slots'

// @fastify/send's own helpers, so that what the cache decides is what send would (pinned with `~`:
// they are files of its package, not its documented API)
interface ByteRange { start: number, end: number }
const { parseTokenList } = require('@fastify/send/lib/parseTokenList') as {
  parseTokenList: <T>(str: string, cb: (token: string) => T | undefined) => T | undefined
}
const { parseBytesRange } = require('@fastify/send/lib/parseBytesRange') as {
  parseBytesRange: (size: number, str: string) => ByteRange[]
}
const { contentRange } = require('@fastify/send/lib/contentRange') as {
  contentRange: (type: string, size: number, range?: ByteRange) => string
}

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
  /** Who may compress on the fly now: a body that gets no slot goes out as it is. */
  compressing: ClientSlots
  /** Files up to this size are read whole and answered by the cache's helpers (and compressed once). */
  cacheFileBytes: number
  /** Total bytes of compressed forms kept in memory. */
  cacheTotalBytes: number
  /** Files whose metadata (and compressed forms) are kept. */
  cacheEntries: number
  /** Send HTML, XHTML and SVG as attachments, so that they never run as pages of this origin. */
  downloadHtml: boolean
}

/** Types a browser would run as a page (scripts included) of our origin. */
const ACTIVE_TYPES = /^(?:text\/html|application\/xhtml\+xml|image\/svg\+xml)\b/

/** Finds a sibling file (a sidecar) under the same policies as the file itself. */
export type SiblingLookup = (dir: string, name: string) => { path: string, stat: Stats } | null

interface Version { dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number }

/** A compressed form, and the hash of the bytes it was made from. */
interface Form { source: string, data: Promise<Buffer>, bytes: number }

/** One version of a small file as send would describe it, and what is made of its bytes. */
interface Meta extends Version {
  /** send's validators for this stat, so that the cache answers with the very same. */
  etag: string
  lastModified: string
  type: string
  compressible: boolean
  coded: Partial<Record<Coding, Form>>
  bytes: number
}

/** A file to answer with, as looked up, and how its body goes out. */
interface Outgoing {
  file: string
  stat: Stats
  type: string
  /** The coding of the body: a sidecar's, or one applied on the fly (`compress`). */
  coding?: Coding
  compress: boolean
}

/** A file on its way out through send: our descriptor, held until send's stream holds its own. */
interface Sending extends Outgoing {
  fh: FileHandle
  stream?: ReadStream
  released: boolean
}

/**
 * send's read size (its `highWaterMark`): unset, it reads 16 KiB at a time, a third of the speed
 * of 512 KiB reads on a big file.
 */
const STREAM_CHUNK = 512 * 1024
/**
 * The options of every sendFile: the type and Cache-Control are ours (send would see a number
 * for a name, and say `max-age=0`); `highWaterMark` reaches send, though @fastify/static's types
 * do not name it.
 */
const SEND_OPTIONS = { contentType: false, cacheControl: false, highWaterMark: STREAM_CHUNK } as SendOptions
/**
 * Over HTTP/2 a client may have 100 streams open on one connection and read none of them: each
 * holds what was read ahead and one chunk waiting on flow control (at 512 KiB, 100 unread streams
 * held 157 MiB; at 64 KiB, 20 MiB). It goes out in 16 KiB frames anyway.
 */
const SEND_OPTIONS_H2 = { ...SEND_OPTIONS, highWaterMark: 64 * 1024 } as SendOptions
/** Bodies compressed on the fly up to this size are compressed whole, so they have a length. */
const WHOLE_BYTES = 1024 * 1024
const SIDECAR: Record<Coding, string> = { br: '.br', gzip: '.gz' }
/** Pages up to this size get live reload's tag (each is read whole per request); bigger ones go out as they are. */
const INJECT_BYTES = 8 * 1024 * 1024
/** Pages up to this size get the tag whatever the load; bigger ones need a compression slot. */
const INJECT_FREE_BYTES = 1024 * 1024

function sameVersion (a: Version, b: Version): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

/** @fastify/send's entity tag for a stat (send.js, sendFileDirectly): weak, size and modification time in hex. */
function sendEtag (stat: Stats): string {
  return 'W/"' + stat.size.toString(16) + '-' + stat.mtime.getTime().toString(16) + '"'
}

/**
 * The If-Match / If-None-Match of a request for a coded variant, as send must read it: send
 * compares the identity's tag, and a coded tag is the identity's with the coding, so the tags
 * for this coding become the identity's and all others (which can never match) are dropped.
 * send still makes every decision; it is only told which tags stand for this file's version.
 */
function identityTags (header: string, coding: Coding): string {
  const suffix = `-${coding}"`
  const tags = (header.match(/\*|(?:W\/)?"[^"]*"/g) ?? []).flatMap((tag) =>
    tag === '*' ? [tag] : tag.endsWith(suffix) ? [tag.slice(0, -suffix.length) + '"'] : [])
  return tags.length > 0 ? tags.join(', ') : '""'
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
const SOURCE_TYPES: Record<string, string> = Object.fromEntries(
  ['.ts', '.mts', '.cts', '.tsx'].map((ext) => [ext, 'text/plain; charset=utf-8'])
)

/** Unknown binary data (octet-stream) gains nothing from compression, whatever mime-db says. */
export function isCompressible (type: string): boolean {
  return !type.startsWith('application/octet-stream') && compressible(type) === true
}

/** A request the cache leaves to send: one that may be a 412, or a conditional one for a coded variant. */
function forSend (h: FastifyRequest['headers'], coding: Coding | undefined): boolean {
  return h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined ||
    (coding !== undefined && (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined))
}

/** send's `isNotModifiedFailure` (lib/send.js), for a file whose tag and date the cache holds. */
function notModified (h: FastifyRequest['headers'], etag: string, lastModified: string): boolean {
  if (h['cache-control']?.includes('no-cache') === true) return false
  const inm = h['if-none-match']
  if (inm !== undefined) {
    return inm === '*' || parseTokenList(inm, (m) => (m === etag || 'W/' + m === etag) ? true : undefined) === true
  }
  const ims = h['if-modified-since']
  return ims !== undefined && Date.parse(lastModified) <= Date.parse(ims)
}

/** send's `isRangeFresh` (lib/send.js). */
function rangeFresh (h: FastifyRequest['headers'], etag: string, lastModified: string): boolean {
  const ifRange = h['if-range'] as string | undefined // a string: Node joins a repeated one with ', '
  if (ifRange === undefined) return true
  if (ifRange.includes('"')) return ifRange.includes(etag)
  const since = Date.parse(ifRange)
  return !Number.isNaN(since) && Date.parse(lastModified) <= since
}

/** send's test for a Range header it reads (`BYTES_RANGE_REGEXP`, lib/send.js). */
const BYTES_RANGE = /^ *bytes=/

/** The body, passed on as it is, failing (so that the connection ends) if it ends short of `length` bytes. */
function ofLength (body: Readable, length: number): Readable {
  let seen = 0
  const guard = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(null, chunk)
    },
    flush (done) {
      done(seen < length ? new Error(`file shrank while being sent: ${seen} of ${length} bytes`) : null)
    }
  })
  // pipeline() destroys both ends on an error in either; Fastify sees it on the guard
  return pipeline(body, guard, () => {})
}

async function collect (body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export class FileResponder {
  /**
   * Small files' metadata and compressed forms, the most recently used kept: at most `cacheEntries`
   * files, and `cacheTotalBytes` of forms (each file counts one more, for its metadata, so that none is 0).
   */
  private readonly metas: LRUCache<string, Meta>
  private readonly headers: Record<string, string>
  private readonly sending = new WeakMap<FastifyReply, Sending>()

  /**
   * @param verifyPath check that each opened file sits at the very real path looked up (every
   *   policy but `follow`, where links are trusted and the path need not be real)
   */
  constructor (
    private readonly opts: FileOptions,
    private readonly sibling: SiblingLookup,
    private readonly verifyPath = true
  ) {
    // ours, not send's `public, max-age=0`: a dev server must never show a stale file
    this.headers = { 'cache-control': cacheControl(opts) }
    this.metas = new LRUCache({
      max: opts.cacheEntries,
      maxSize: opts.cacheTotalBytes + opts.cacheEntries,
      sizeCalculation: (m) => m.bytes + 1
    })
  }

  /**
   * Registers @fastify/static in `scope` (for `reply.sendFile` there, with no routes of its own)
   * and the layer that finishes what it sends. `send()` works in that scope only.
   */
  async install (scope: FastifyInstance): Promise<void> {
    await scope.register(fastifyStatic, { serve: false })
    // a callback hook, not an async one: every reply of the scope passes here, most untouched
    scope.addHook('onSend', (req, reply, payload, done) => {
      const s = this.sending.get(reply)
      if (s === undefined) return done(null, payload)
      this.sending.delete(reply)
      this.finish(req, reply, payload as Readable, s).then((p) => { done(null, p) }, done)
    })
  }

  /** The metadata of this version of `file`, from the cache when the stat still matches. */
  private meta (file: string, stat: Stats): Meta {
    // get() makes it the most recently used, so eviction takes the oldest first
    const known = this.metas.get(file)
    if (known !== undefined && sameVersion(known, stat)) return known
    const type = typeOf(file)
    const meta: Meta = {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      ctimeMs: stat.ctimeMs,
      etag: sendEtag(stat),
      lastModified: stat.mtime.toUTCString(),
      type,
      compressible: isCompressible(type),
      coded: {},
      bytes: 0
    }
    // a version it replaces goes with its forms
    this.metas.set(file, meta)
    return meta
  }

  private account (file: string, meta: Meta, bytes: number): void {
    if (this.metas.peek(file) !== meta) return // evicted or replaced meanwhile: nothing is kept
    meta.bytes += bytes
    // counted again: the oldest go first, and the file just answered may go too
    this.metas.set(file, meta, { size: meta.bytes + 1 })
  }

  /**
   * The file's bytes as they are now, or `null` if they are no longer `meta`'s size. Read for every
   * request, never kept: no stat says when a file's bytes are final (a write sets the times when it
   * starts and a write through a mapping sets none after its first to a page, so a version can look
   * old while its bytes still change), and bytes kept under a version could be older than it for
   * good. Read in this thread, as the lookup is: for a small file five system calls cost a few
   * microseconds, a third of one round trip through the thread pool.
   */
  private read (file: string, meta: Meta): Buffer | null {
    const fd = openVerifiedSync(file, meta, this.verifyPath)
    try {
      // a byte more than the version's size, so that a file grown since is seen
      const data = Buffer.allocUnsafe(meta.size + 1)
      let length = 0
      let got = 1
      while (got > 0 && length < data.length) {
        got = readSync(fd, data, length, data.length - length, length)
        length += got
      }
      return length === meta.size ? data.subarray(0, length) : null
    } finally {
      closeSync(fd)
    }
  }

  /** `data` compressed: the form kept for the very same bytes (by their hash), or a new one, kept in its place. */
  private coded (file: string, meta: Meta, coding: Coding, data: Buffer): Promise<Buffer> {
    const source = createHash('sha256').update(data).digest('base64')
    const kept = meta.coded[coding]
    if (kept?.source === source) return kept.data
    if (kept !== undefined) this.account(file, meta, -kept.bytes)
    const form: Form = { source, data: compressBuffer(data, coding), bytes: 0 }
    meta.coded[coding] = form
    form.data.then((b) => {
      if (meta.coded[coding] !== form) return
      form.bytes = b.length
      this.account(file, meta, b.length)
    }, () => { if (meta.coded[coding] === form) meta.coded[coding] = undefined })
    return form.data
  }

  /**
   * Whether the file may go out in `coding` made on the fly: at once when the cache holds that form
   * already (nothing is compressed), else when the client is given a compression slot.
   */
  private mayCompress (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats, coding: Coding): boolean {
    const known = this.metas.peek(file)
    if (known?.coded[coding] !== undefined && sameVersion(known, stat) && !forSend(req.headers, coding)) return true
    return this.opts.compressing.holdFor(req, reply)
  }

  /** Answers GET or HEAD for the regular file at `file` (a path the caller has vetted). */
  async send (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats): Promise<FastifyReply> {
    const h = req.headers
    const type = typeOf(file)
    reply.headers(this.headers)
    if (this.opts.downloadHtml &&
        ACTIVE_TYPES.test(type)) reply.header('content-disposition', createDisposition(path.basename(file)))

    // Content coding: never for a Range request, so byte offsets always mean the file's own bytes.
    const canCompress = this.opts.compress && isCompressible(type) && stat.size >= this.opts.threshold
    if (canCompress || this.opts.precompressed) addVary(reply, 'Accept-Encoding')
    if (h.range === undefined && h['accept-encoding'] !== undefined) {
      for (let offered = [...CODINGS]; offered.length > 0;) {
        const coding = pickEncoding(h['accept-encoding'], offered)
        if (coding === undefined) break
        const side = this.opts.precompressed
          ? this.sibling(path.dirname(file), path.basename(file) + SIDECAR[coding])
          : null
        if (side?.stat.isFile() === true) return await this.fromDisk(req, reply, { file: side.path, stat: side.stat, type, coding, compress: false })
        if (canCompress &&
            this.mayCompress(req, reply, file, stat, coding)) return await this.answer(req, reply, { file, stat, type, coding, compress: true })
        offered = offered.filter((c) => c !== coding)
      }
    }
    return await this.answer(req, reply, { file, stat, type, compress: false })
  }

  /**
   * Answers GET or HEAD for a page with `tag` (live reload's script) inserted, or `null` when the
   * page takes none (too big, opted out, UTF-16): then the caller sends it as it is. Made here,
   * not by send, and never kept: read whole, tagged by a hash of the bytes sent (strong, so no
   * cache mistakes it for the page without the tag, and turning live reload off or on never earns
   * a stale 304), without Last-Modified (the file's date would validate either variant) or ranges
   * (offsets into the file are not offsets into this), compressed after the tag, never a sidecar.
   */
  async sendInjected (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats, tag: Buffer): Promise<FastifyReply | null> {
    if (stat.size > INJECT_BYTES) return null
    // a big page is read and copied whole: only with a slot (as many at once as are compressed),
    // else it goes out as it is, without the tag (its stream holds little)
    const big = stat.size > INJECT_FREE_BYTES
    const held = big && this.opts.compressing.holdFor(req, reply)
    if (big && !held) return null
    const fh = await openVerified(file, stat, this.verifyPath)
    let page: Buffer
    try {
      page = await fh.readFile()
    } finally {
      await fh.close()
    }
    const at = injectionPoint(page)
    if (at === null) return null
    const body = inject(page, at, tag)
    const type = typeOf(file)
    const canCompress = this.opts.compress && isCompressible(type) && body.length >= this.opts.threshold
    if (canCompress) addVary(reply, 'Accept-Encoding')
    const wanted = canCompress ? pickEncoding(req.headers['accept-encoding'], CODINGS) : undefined
    // compressed with the page's slot, or one of its own; without one it goes out as it is
    const coding = wanted !== undefined && (held || this.opts.compressing.holdFor(req, reply)) ? wanted : undefined
    const identity = '"' + createHash('sha1').update(body).digest('base64url') + '"'
    const etag = coding === undefined ? identity : codedEtag(identity, coding)
    reply.headers(this.headers).header('etag', etag)
    const ifMatch = req.headers['if-match']
    if (ifMatch !== undefined && ifMatch.trim() !== '*' &&
        !ifMatch.split(',').some((t) => t.trim() === etag)) throw new PreconditionFailedError('the page has changed')
    if (fresh(req.headers, { etag })) return reply.code(304).send()
    const sent = coding === undefined ? body : await compressBuffer(body, coding)
    if (coding !== undefined) reply.header('content-encoding', coding)
    reply.type(type).header('content-length', sent.length)
    return reply.send(req.method === 'HEAD' ? undefined : sent)
  }

  /** From memory when the cache may answer (a small file; 200, 304 or one range, as send decides), else from disk. */
  private async answer (req: FastifyRequest, reply: FastifyReply, how: Outgoing): Promise<FastifyReply> {
    const h = req.headers
    const { file, stat, coding } = how
    if (stat.size > this.opts.cacheFileBytes ||
        forSend(h, coding)) return await this.fromDisk(req, reply, how)
    const meta = this.meta(file, stat)
    // send's order: a 304 first, then a range (only of the identity: a coded request has none)
    let range: ByteRange | undefined
    if (coding === undefined &&
        (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) &&
        notModified(h, meta.etag, meta.lastModified)) {
      proveSync(file, stat, this.verifyPath)
      return reply.code(304)
        .headers({ 'accept-ranges': 'bytes', 'last-modified': meta.lastModified, etag: meta.etag })
        .send()
    }
    if (h.range !== undefined && BYTES_RANGE.test(h.range) && rangeFresh(h, meta.etag, meta.lastModified)) {
      const ranges = parseBytesRange(meta.size, h.range)
      // a 416 is send's to make
      if (ranges.length === 0) return await this.fromDisk(req, reply, how)
      if (ranges.length === 1) range = ranges[0]
    }
    reply.headers({ 'accept-ranges': 'bytes', 'last-modified': meta.lastModified, 'content-type': how.type })
    if (range !== undefined) reply.code(206).header('content-range', contentRange('bytes', meta.size, range))
    const length = range === undefined ? meta.size : range.end - range.start + 1
    if (req.method === 'HEAD' && coding === undefined) {
      // nothing is read, so the file at `file` is first proven to be the one looked up
      proveSync(file, stat, this.verifyPath)
      return reply.header('etag', meta.etag).header('content-length', length).send()
    }
    let data = this.read(file, meta)
    if (data === null) {
      // the file's size changed between its stat and its read: send answers with the file as it is now
      reply.code(200).removeHeader('content-range')
      return await this.fromDisk(req, reply, how)
    }
    if (coding !== undefined) {
      data = await this.coded(file, meta, coding, data)
      reply.header('content-encoding', coding)
    } else if (range !== undefined) {
      data = data.subarray(range.start, range.end + 1)
    }
    reply.header('etag', coding === undefined ? meta.etag : codedEtag(meta.etag, coding))
      .header('content-length', data.length)
    return reply.send(req.method === 'HEAD' ? undefined : data)
  }

  /** Layer 1, the verified open: send opens our proven descriptor through `/proc/self/fd/N`. */
  private async fromDisk (req: FastifyRequest, reply: FastifyReply, how: Outgoing): Promise<FastifyReply> {
    const { file, stat } = how
    const fh = await openVerified(file, stat, this.verifyPath)
    const s: Sending = { ...how, fh, released: false }
    this.sending.set(reply, s)
    // released as the response closes, at the latest (an error page, a client gone)
    reply.raw.once('close', () => { this.release(s) })
    const raw = req.raw.headers
    if (how.coding !== undefined) {
      for (const name of ['if-match', 'if-none-match'] as const) {
        if (raw[name] !== undefined) raw[name] = identityTags(raw[name], how.coding)
      }
    }
    const options = req.raw.httpVersionMajor === 2 ? SEND_OPTIONS_H2 : SEND_OPTIONS
    return reply.sendFile(throughDescriptor(fh.fd, file).slice(1), '/', options)
  }

  /** Closes our descriptor once send's stream holds its own, or has closed (or never will be made). */
  private release (s: Sending, streamClosed = false): void {
    if (s.released || (!streamClosed && s.stream?.pending === true)) return
    s.released = true
    s.fh.close().catch(() => {})
  }

  /** What send answered, finished by layers 2-4: type, coding, and a body that cannot end short. */
  private async finish (req: FastifyRequest, reply: FastifyReply, payload: Readable, s: Sending): Promise<unknown> {
    if (payload instanceof ReadStream) {
      s.stream = payload
      // a stream whose open failed (EMFILE) closes still `pending`: its close is the end all the same
      payload.once('open', () => { this.release(s) }).once('close', () => { this.release(s, true) })
    }
    const status = reply.statusCode
    if (status !== 200 && status !== 206 && status !== 304) {
      // an error page (412, 416): ours, made by the error handler
      this.release(s)
      return payload
    }
    if (s.coding !== undefined) reply.header('etag', codedEtag(String(reply.getHeader('etag')), s.coding))
    if (status === 304) {
      // send leaves out the type and coding of a 304; so do we
      this.release(s)
      return payload
    }
    reply.header('content-type', s.type)
    if (s.coding !== undefined) reply.header('content-encoding', s.coding)
    const length = Number(reply.getHeader('content-length'))
    const head = req.method === 'HEAD'
    const body = head ? payload : ofLength(payload, length)
    if (!s.compress) {
      this.release(s)
      return body
    }
    const coding = s.coding as Coding
    if (length > WHOLE_BYTES) {
      // compressed as it streams: no length is known up front, for GET or HEAD
      reply.removeHeader('content-length')
      this.release(s)
      return head ? payload : pipeline(body, compressor(coding), () => {})
    }
    // small enough to compress whole, so that it has a length, as from the cache; HEAD reads it too
    const data = await compressBuffer(head ? await s.fh.readFile() : await collect(body), coding)
    this.release(s)
    reply.header('content-length', data.length)
    return head ? payload : data
  }
}
