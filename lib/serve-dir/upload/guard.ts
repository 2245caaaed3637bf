// What an upload may hold while it runs: a slot (a few at once in total, fewer from one client
// address), and a request body that must keep moving (idle timeout, minimum rate, size limit).
// A slow client cannot pile up connections, folders and temporary files: past its slots it is
// refused at once, and a body that trickles is cut.
import { clientOf } from '../client'
import { ClientSlots } from '../slots'
import { once } from 'node:events'
import { Transform, type Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { ClientGoneError, PayloadTooLargeError, TooBusyError, TooManyUploadsError, UploadTimeoutError, UploadTooSlowError } from '../errors'

/** How a request body must arrive. */
export interface BodyLimits {
  maxBytes: number
  /** Milliseconds without a byte before the upload is cut; also the span `minRate` is measured over. */
  idleTimeout: number
  /** Bytes a second the body must average over each `idleTimeout`; `0`: no minimum. */
  minRate: number
}

/** Uploads under way: at most `max` at once, and `perClient` from one client (as ../client.ts counts one). */
export class UploadSlots {
  private readonly slots: ClientSlots

  constructor (max: number, perClient: number) {
    this.slots = new ClientSlots(max, perClient)
  }

  /**
   * A slot for `req`, or the refusal: 429 when its client holds `perClient` already (it is the one
   * to wait), 503 when the server holds `max` (anyone may). Call the function returned once, to give it back.
   */
  take (req: FastifyRequest): () => void {
    const key = clientOf(req)
    const release = this.slots.take(key)
    if (release !== null) return release
    if (this.slots.refusal(key) === 'client') {
      req.log.warn({ client: key, uploads: this.slots.heldBy(key) }, 'upload refused: too many from one client')
      throw Object.assign(new TooManyUploadsError(this.slots.perClient), { headers: { 'retry-after': '1' } })
    }
    // the error handler logs it and adds Retry-After
    throw new TooBusyError('uploads')
  }
}

/**
 * `body` through a counter: 413 past `maxBytes`, 408 when no byte comes for `idleTimeout` or fewer
 * than `minRate` a second come over one (a byte every so often keeps no upload alive),
 * `ClientGoneError` when the request ends before its body did. The request itself is left open
 * (unpiped, paused) so that the error can still be answered.
 */
export function guarded (body: Readable, limits: BodyLimits): Transform {
  let bytes = 0
  let lately = 0
  let idle: NodeJS.Timeout | undefined
  const resetIdle = (): void => {
    clearTimeout(idle)
    idle = setTimeout(() => { counter.destroy(new UploadTimeoutError()) }, limits.idleTimeout)
  }
  const rate = limits.minRate === 0
    ? undefined
    : setInterval(() => {
      if (lately < limits.minRate * limits.idleTimeout / 1000) counter.destroy(new UploadTooSlowError(limits.minRate))
      lately = 0
    }, limits.idleTimeout)
  const counter = new Transform({
    transform (chunk: Buffer, _enc, done) {
      resetIdle()
      bytes += chunk.length
      lately += chunk.length
      if (bytes > limits.maxBytes) return done(new PayloadTooLargeError(limits.maxBytes))
      done(null, chunk)
    },
    flush (done) {
      stop()
      done()
    }
  })
  const stop = (): void => {
    clearTimeout(idle)
    clearInterval(rate)
  }
  const gone = (): void => {
    if (!body.readableEnded) counter.destroy(new ClientGoneError())
  }
  // whoever reads it next throws the error (firstBytes, store's loop): none may go unheard between
  counter.on('error', () => {})
  body.once('close', gone)
  body.once('error', gone)
  counter.once('close', () => {
    stop()
    body.removeListener('close', gone)
    body.unpipe(counter)
    if (!body.readableEnded) body.pause()
  })
  resetIdle()
  // gone already, before the write began: it will say so no more
  if (body.destroyed) gone()
  else body.pipe(counter)
  return counter
}

/**
 * Resolves when the first bytes of `body` (a {@link guarded} one) are there to read, or it ended:
 * until then an upload holds its connection only, no folder and no file. Rejects with what cut it.
 */
export async function firstBytes (body: Readable): Promise<void> {
  // called as soon as `body` is made: nothing can have come (or failed) before the listener
  await once(body, 'readable')
}
