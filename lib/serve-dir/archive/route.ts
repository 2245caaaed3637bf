// `?download=zip|tar.gz` on a folder: the folder as one archive, streamed (stream.ts), after its
// tree was counted against the limits; a few at once, each in its turn (slots.ts).
import path from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { create as createDisposition } from 'content-disposition'
import { ArchiveTooLargeError, ArchivesOffError, BadQueryError } from '../errors'
import { Slots, untilClientGone } from '../slots'
import type { ArchiveLimits, Walker } from './walk'
import type { Folder } from '../route'
import { ARCHIVE_TYPES, archive, zipSafe, type ArchiveFormat } from './stream'

export class ArchiveRoute {
  /** Folder downloads made at once (2), and how many may wait for a turn (8); more are 503. */
  private readonly turns = new Slots('folder downloads', 2, 8)

  /**
   * @param limits `false`: folder downloads are off
   */
  constructor (
    private readonly walker: Walker,
    private readonly limits: ArchiveLimits | false,
    private readonly mount: readonly string[],
    private readonly realRoot: string
  ) {}

  /** Answers GET or HEAD for `?download=` on `folder`. */
  async send (
    req: FastifyRequest,
    reply: FastifyReply,
    folder: Folder,
    asked: readonly string[]
  ): Promise<FastifyReply> {
    if (this.limits === false) throw new ArchivesOffError()
    if (asked.length > 1 ||
        !(asked[0] in ARCHIVE_TYPES)) throw new BadQueryError('download', "must be 'zip' or 'tar.gz'")
    const format = asked[0] as ArchiveFormat
    const signal = untilClientGone(reply)
    // a few at once: each walks a whole tree and keeps a connection busy for long
    const release = await this.turns.take(signal)
    try {
      return await this.inTurn(req, reply, folder, format, this.limits, signal, release)
    } catch (err) {
      release()
      throw err
    }
  }

  private async inTurn (
    req: FastifyRequest,
    reply: FastifyReply,
    { dir, stat, segments }: Folder,
    format: ArchiveFormat,
    limits: ArchiveLimits,
    signal: AbortSignal,
    release: () => void
  ): Promise<FastifyReply> {
    let leftOut = 0
    // counted first, keeping nothing: the limits are decided before the first byte
    const counted = await this.walker.count(dir, stat, limits, () => signal.aborted, (item) => {
      if (format === 'zip' && !zipSafe(item.rel)) leftOut++
    })
    if ('over' in counted) throw new ArchiveTooLargeError(overLimit(counted.over, limits))
    /* c8 ignore next */ // 'files' only when serving / itself, which no test walks whole
    const name = (segments[segments.length - 1] ?? (this.mount[this.mount.length - 1] ?? path.basename(this.realRoot))) || 'files'
    reply.type(ARCHIVE_TYPES[format]).headers({
      'content-disposition': createDisposition(`${name}.${format}`),
      'cache-control': 'no-store'
    })
    if (req.method === 'HEAD') {
      release()
      return reply.send()
    }
    // walked again as it is written: one item at a time
    const stream = await archive(
      format,
      this.walker.items(dir, stat, limits, () => signal.aborted),
      this.walker.verifyPath,
      signal
    )
    stream.once('close', release)
    req.log.info({
      entries: counted.entries - leftOut,
      bytes: counted.bytes,
      format,
      ...(leftOut > 0 ? { leftOut } : {})
    }, 'folder download')
    return reply.send(stream)
  }
}

/** What a passed limit says. */
function overLimit (limit: 'bytes' | 'entries' | 'depth', limits: ArchiveLimits): string {
  if (limit === 'depth') return `more than ${limits.maxDepth} folders deep`
  return limit === 'bytes' ? `more than ${limits.maxBytes} bytes` : `more than ${limits.maxEntries} entries`
}
