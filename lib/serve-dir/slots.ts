import type { FastifyReply } from 'fastify'
import { ClientGoneError, TooBusyError } from './errors'

/**
 * At most `size` holders at once, the rest waiting in line (at most `line` of them, each for at
 * most `waitMs`); beyond that, `TooBusyError` (503). Bounds the heavy work (big listings,
 * archives) that clients can make the server do at once, so small requests are served meanwhile.
 */
export class Slots {
  private busy = 0
  private readonly waiting: Array<() => void> = []

  constructor (
    private readonly what: string,
    private readonly size: number,
    private readonly line: number,
    private readonly waitMs = 30_000
  ) {}

  /**
   * A slot, once one is free: call the function it resolves with to give it back (once is enough;
   * more are ignored).
   */
  async take (signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted()
    if (this.busy < this.size) {
      this.busy++
      return this.giveBack()
    }
    if (this.waiting.length >= this.line) throw new TooBusyError(this.what)
    await new Promise<void>((resolve, reject) => {
      const leave = (err: unknown): void => {
        this.waiting.splice(this.waiting.indexOf(turn), 1)
        clearTimeout(timer)
        signal.removeEventListener('abort', aborted)
        reject(err)
      }
      const aborted = (): void => { leave(signal.reason) }
      const timer = setTimeout(() => { leave(new TooBusyError(this.what)) }, this.waitMs)
      const turn = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', aborted)
        resolve()
      }
      signal.addEventListener('abort', aborted, { once: true })
      this.waiting.push(turn)
    })
    // the slot was handed over by the holder that gave it back: `busy` still counts it
    const release = this.giveBack()
    if (signal.aborted) {
      // gone in the same turn as its slot came: passed on at once
      release()
      signal.throwIfAborted()
    }
    return release
  }

  private giveBack (): () => void {
    let held = true
    return () => {
      if (!held) return
      held = false
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.busy--
    }
  }
}

/**
 * A signal that aborts (with `ClientGoneError`) when the client goes away before its answer has
 * been sent whole, including before the handler began (a request sent, then the connection closed):
 * heavy work for a client that left stops, and gives its slot back.
 */
export function untilClientGone (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  // Node's HTTP/2 compatibility response has no `destroyed`: its stream does
  const res = reply.raw as FastifyReply['raw'] & { stream?: { destroyed: boolean } }
  // closed before the answer was ended (`writableFinished` is true for a reset HTTP/2 stream)
  const gone = (): void => { if (!res.writableEnded) controller.abort(new ClientGoneError()) }
  if (res.destroyed === true || res.stream?.destroyed === true) gone()
  else res.once('close', gone)
  return controller.signal
}
