import type { FastifyReply, FastifyRequest } from 'fastify'
import { ClientGoneError, TooBusyError } from './errors'
import { clientOf } from './client'

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

/**
 * At most `total` holders at once, and at most `perClient` of them for one client (client.ts); never a line:
 * `take` answers at once, and a caller that gets no slot does without (on-the-fly compression:
 * the body goes out as it is, which is as correct an answer) or refuses (uploads, live reload's
 * streams: `refusal` says whom to blame). Bounds what a client chooses to hold (memory, the
 * thread pool's time, descriptors), in total and for each client.
 */
export class ClientSlots {
  private busy = 0
  private readonly byClient = new Map<string, number>()

  constructor (readonly total: number, readonly perClient: number) {}

  /** A slot for `client`: call the function to give it back (once is enough); `null` if none is free. */
  take (client: string): (() => void) | null {
    const mine = this.byClient.get(client) ?? 0
    if (this.busy >= this.total || mine >= this.perClient) return null
    this.busy++
    this.byClient.set(client, mine + 1)
    let held = true
    return () => {
      if (!held) return
      held = false
      this.busy--
      const left = (this.byClient.get(client) as number) - 1
      if (left === 0) this.byClient.delete(client)
      else this.byClient.set(client, left)
    }
  }

  /**
   * Why `client` gets no slot now: it holds its share (`'client'`: it is the one to wait, a 429),
   * or every slot is taken (`'total'`: anyone may wait, a 503).
   */
  refusal (client: string): 'client' | 'total' {
    return (this.byClient.get(client) ?? 0) >= this.perClient ? 'client' : 'total'
  }

  /** How many slots `client` holds. */
  heldBy (client: string): number {
    return this.byClient.get(client) ?? 0
  }

  /**
   * A slot for the client of `reply`, held until its response closes (sent whole, or cut); `false`
   * when none is free, or the client has gone already.
   */
  holdFor (req: FastifyRequest, reply: FastifyReply): boolean {
    const res = reply.raw as FastifyReply['raw'] & { stream?: { destroyed: boolean } }
    if (res.destroyed === true || res.stream?.destroyed === true) return false
    const release = this.take(clientOf(req))
    if (release === null) return false
    res.once('close', release)
    return true
  }
}
