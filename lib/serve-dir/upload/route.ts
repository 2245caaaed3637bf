// Uploads: `PUT /dir/name` (curl -T) and the listing's form (`POST /dir/`, multipart). Each is
// checked before a byte of its body is read (where it may go, its name, its size, the free space,
// If-Match / If-None-Match, and that it is not another site's), then written by store.ts.
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { Stats } from 'node:fs'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import Busboy from '@fastify/busboy'
import { BadPathError, BadUploadError, ConflictError, NotFoundError, PayloadTooLargeError, PreconditionFailedError, WriteForbiddenError } from '../errors'
import { encodePath, isInside, parseRequestUrl } from '../url'
import type { UploadSettings } from '../options'
import { badName } from './names'
import { refuseCrossSite } from '../cross-site'
import { userOf } from '../auth/login'
import { UploadFolder, checkSpace, existing, store } from './store'
import { UploadSlots, firstBytes, guarded } from './guard'

const { parseTokenList } = require('@fastify/send/lib/parseTokenList') as {
  parseTokenList: <T>(str: string, cb: (token: string) => T | undefined) => T | undefined
}

/** @fastify/send's entity tag for a stat: the one GET sends, so that `If-Match` can quote it. */
export function etagOf (stat: Stats): string {
  return 'W/"' + stat.size.toString(16) + '-' + stat.mtime.getTime().toString(16) + '"'
}

/** Whether `header` (an If-Match) lists `etag`, weakly compared. */
function listed (header: string, etag: string): boolean {
  const bare = etag.slice(2)
  return parseTokenList(header, (t) => (t === etag || t === bare || 'W/' + t === etag) ? true : undefined) === true
}

/** A name as a case-blind disk compares it. */
function folded (name: string): string {
  return name.normalize('NFC').toLowerCase()
}

/** Files one form may carry. */
const FORM_FILES = 1000

export class UploadRoute {
  private readonly slots: UploadSlots

  constructor (
    private readonly realRoot: string,
    private readonly mount: readonly string[],
    private readonly settings: UploadSettings,
    private readonly showHidden: boolean
  ) {
    this.slots = new UploadSlots(settings.maxConcurrent, settings.maxPerClient)
  }

  /** Whether `segments` (below the mount) lie in an upload path. */
  allows (segments: readonly string[]): boolean {
    return this.settings.paths.some((p) => p.every((s, i) => segments[i] === s))
  }

  /**
   * Whether an upload may add a file to the real folder `realDir`. Uploads reach their folder from
   * the root through no link, so its real path below the root names it; names are compared without
   * case or Unicode form, as a case-blind disk (macOS, Windows) would let an upload reach it.
   */
  writesInto (realDir: string): boolean {
    if (!isInside(this.realRoot, realDir)) return false
    const rel = path.relative(this.realRoot, realDir)
    const segments = rel === '' ? [] : rel.split(path.sep).map(folded)
    return this.settings.paths.some((p) => p.every((s, i) => segments[i] === folded(s)))
  }

  /** The URL's segments below the mount, with `bad` the 400's reason; refusals thrown. */
  private target (req: FastifyRequest, folder: boolean): string[] {
    refuseCrossSite(req, this.settings.allowedHosts)
    const parsed = parseRequestUrl(req.raw.url as string, this.mount)
    if (parsed.kind === 'bad') throw new BadPathError(parsed.reason)
    if (parsed.kind === 'outside') throw new NotFoundError()
    const { segments, trailingSlash } = parsed.target
    // the mount's own URL without its slash (`/files`) is a folder's too
    if (trailingSlash !== folder || (!folder && segments.length === 0)) {
      throw folder
        ? new BadUploadError('a form is posted to a folder\'s URL, ending in /')
        : new ConflictError('a folder\'s URL: PUT to the file\'s name')
    }
    // a PUT names a file in an upload folder: its folder is what must be one
    if (!this.allows(folder ? segments : segments.slice(0, -1))) throw new WriteForbiddenError('not an upload folder')
    // each folder is one more to make, and one more level for every walk of the tree after
    const depth = folder ? segments.length : segments.length - 1
    if (depth > this.settings.maxDepth) throw new WriteForbiddenError(`more than ${this.settings.maxDepth} folders deep`)
    for (const s of segments) {
      const why = badName(s, this.showHidden)
      if (why !== undefined) throw new WriteForbiddenError(why)
    }
    return segments
  }

  /** The size the request declares, 413 when over the limit before any byte is read. */
  private declared (req: FastifyRequest): number {
    const length = Number(req.headers['content-length'] ?? 0)
    if (length > this.settings.maxBytes) throw new PayloadTooLargeError(this.settings.maxBytes)
    return length
  }

  /** `PUT /dir/name`: 201 with Location and ETag for a new file, 204 for a replaced one. */
  async put (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const segments = this.target(req, false)
    const name = segments[segments.length - 1]
    const declared = this.declared(req)
    return await this.inSlot(req, reply, segments.slice(0, -1), (folder) => {
      this.preconditions(req, existing(folder, name))
      checkSpace(folder, declared, this.settings.minFreeBytes)
    }, async (folder, body) => {
      // checked again: the folder may have changed while the first bytes were awaited
      const old = existing(folder, name)
      this.preconditions(req, old)
      // the preconditions hold again when the file replaces what is there: it may have changed meanwhile
      const saved = await store(folder, name, body, this.settings.overwrite, this.settings.minFreeBytes, (now) => { this.preconditions(req, now) })
      const url = '/' + encodePath([...this.mount, ...segments.slice(0, -1), saved.name])
      logUpload(req, url, saved.stat.size)
      const replaced = old !== null && saved.name === name
      reply.code(replaced ? 204 : 201)
        .headers({ etag: etagOf(saved.stat), ...(replaced ? {} : { location: url }), 'content-type': 'text/plain; charset=utf-8' })
        .send(replaced ? undefined : `Created ${url} (${saved.stat.size} bytes)\n`)
    })
  }

  /**
   * An upload in one of the slots: `check` in its folder before the body is asked for (a refusal
   * then costs the client no body), the folder closed again; then, once the first bytes are there,
   * `write` with the folder opened again and the body guarded. Until then a client slow to send
   * holds its connection only.
   */
  private async inSlot (
    req: FastifyRequest,
    reply: FastifyReply,
    segments: readonly string[],
    check: (folder: UploadFolder) => void,
    write: (folder: UploadFolder, body: Readable) => Promise<void>
  ): Promise<FastifyReply> {
    const release = this.slots.take(req)
    let body: Readable | undefined
    let folder: UploadFolder | undefined
    const done = (): void => {
      folder?.close()
      release()
    }
    try {
      const first = UploadFolder.open(this.realRoot, segments, this.settings.mkdir)
      try {
        check(first)
      } finally {
        first.close()
      }
      proceed(req, reply)
      body = guarded(req.raw, this.settings)
      await firstBytes(body)
      folder = UploadFolder.open(this.realRoot, segments, this.settings.mkdir)
      // `write` sends without waiting for the answer to be read: the reply of an HTTP/2 stream reset
      // meanwhile never settles (Node never says an already-closed response finished), and the
      // folder and the slot are given back now whatever becomes of it
      await write(folder, body)
      done()
      return reply
    } catch (err) {
      done()
      throw cut(req, body, err as FastifyError)
    }
  }

  /** If-None-Match: * and If-Match hold, and the overwrite policy allows replacing `old`. */
  private preconditions (req: FastifyRequest, old: Stats | null): void {
    const { 'if-none-match': inm, 'if-match': im } = req.headers
    if (inm !== undefined && old !== null && (inm.trim() === '*' || listed(inm, etagOf(old)))) throw new PreconditionFailedError('the file exists')
    if (im !== undefined && (old === null || (im.trim() !== '*' && !listed(im, etagOf(old))))) throw new PreconditionFailedError('If-Match does not name the file as it is')
    if (old !== null && this.settings.overwrite === 'never') throw new ConflictError('the file exists and may not be replaced')
    // If-Match asks to replace the file: `rename` would keep it and store another
    if (im !== undefined && this.settings.overwrite === 'rename') throw new ConflictError('If-Match asks to replace the file, which overwrite: rename never does')
  }

  /**
   * The listing's form: `POST /dir/` with multipart files (several). 303 back to the listing for a
   * form, 201 with the stored URLs as JSON for a script asking for JSON.
   */
  async post (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const segments = this.target(req, true)
    const declared = this.declared(req)
    const type = req.headers['content-type'] ?? ''
    if (!/^multipart\/form-data\s*;/i.test(type)) throw new BadUploadError('a form upload is multipart/form-data')
    return await this.inSlot(req, reply, segments, (folder) => {
      checkSpace(folder, declared, this.settings.minFreeBytes)
    }, async (folder, body) => {
      const stored = await this.parts(req, body, folder, segments)
      if ((req.headers.accept ?? '').includes('application/json')) reply.code(201).send({ files: stored })
      else reply.code(303).headers({ location: './', 'content-length': '0' }).send()
    })
  }

  /**
   * Each file of the form, written in turn; the first refusal ends the request with its error. A
   * client that goes away, or a form that breaks, ends the file being written (its temporary file
   * removed) before the folder is closed.
   */
  private async parts (req: FastifyRequest, body: Readable, folder: UploadFolder, segments: string[]): Promise<Array<{ url: string, bytes: number }>> {
    const stored: Array<{ url: string, bytes: number }> = []
    let failure: Error | undefined
    let chain = Promise.resolve()
    let writing: Readable | undefined
    let busboy: InstanceType<typeof Busboy>
    try {
      busboy = new Busboy({ headers: req.headers as never, preservePath: true, limits: { files: FORM_FILES, fields: 100, fieldSize: 1024 } })
    } catch (err) {
      throw new BadUploadError((err as Error).message)
    }
    const done = new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        failure ??= err
        // ended without an error of its own: store() sees it end early and removes what it wrote
        writing?.destroy()
        reject(err)
      }
      busboy.on('file', (_field: string, file: Readable, filename: string) => {
        // what goes wrong with a part is the form's failure, said once, by the request
        file.on('error', () => {})
        chain = chain.then(async () => {
          if (failure !== undefined) {
            file.resume()
            return
          }
          const why = badName(filename, this.showHidden)
          if (why !== undefined) throw new WriteForbiddenError(why)
          const old = existing(folder, filename)
          if (old !== null && this.settings.overwrite === 'never') throw new ConflictError(`${JSON.stringify(filename)} exists and may not be replaced`)
          writing = file
          const saved = await store(folder, filename, file, this.settings.overwrite, this.settings.minFreeBytes)
          const url = '/' + encodePath([...this.mount, ...segments, saved.name])
          logUpload(req, url, saved.stat.size)
          stored.push({ url, bytes: saved.stat.size })
        }).catch((err: Error) => {
          failure ??= err
          file.resume()
        }).finally(() => { writing = undefined })
      })
      busboy.on('finish', () => { chain.then(resolve, reject) })
      busboy.on('error', (err: Error) => { fail(new BadUploadError(err.message)) })
      // cut (too slow, too big) or ended before the form did: nothing more will come
      body.once('error', fail)
    })
    body.pipe(busboy)
    try {
      await done
    } finally {
      // the file being written ends (stored, or removed) before the folder closes
      await chain
    }
    if (failure !== undefined) throw failure
    if (stored.length === 0) throw new BadUploadError('no file in the form')
    return stored
  }
}

/**
 * Lets a client that waits for `100 Continue` (curl does, for bodies over 1 MiB) send its body, now
 * that it is wanted. The app keeps Node from saying so before the request is checked
 * (lib/server.ts, `continueWhenChecked`); on a host that does not, Node has said it already
 * (`_sent100`), and a refusal closes the connection instead of reading the body.
 */
function proceed (req: FastifyRequest, reply: FastifyReply): void {
  if ((req.headers.expect ?? '').toLowerCase() !== '100-continue') return
  const res = reply.raw as unknown as { _sent100?: boolean, writeContinue: () => void }
  if (res._sent100 !== true) res.writeContinue()
}

/** `err`, once the body is let go (its timers stopped); an upload cut for its pace is logged. */
function cut (req: FastifyRequest, body: Readable | undefined, err: FastifyError): FastifyError {
  body?.destroy()
  if (err.statusCode === 408) req.log.warn({ upload: req.url, code: err.code }, err.message)
  return err
}

function logUpload (req: FastifyRequest, url: string, bytes: number): void {
  const user = userOf(req)
  req.log.info({ upload: url, bytes, ...(user === undefined ? {} : { user }) }, 'upload stored')
}
