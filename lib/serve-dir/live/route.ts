// Live reload: the tree is watched (watch.ts), and each change is told to the browsers over
// Server-Sent Events at `<prefix>/.serve-dir/live`; pages get an external script
// (`live-<hash>.js`, assets/live.js) that listens and reloads, or swaps stylesheets in place.
// Which answers get the script, and where it goes, is decided here and in inject.ts; the file
// responder makes the injected variant (its own ETag and length, no ranges, no sidecars).
import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import escapeHtml from 'escape-html'
import { displayPath, encodePath } from '../url'
import { refuseCrossSite } from '../cross-site'
import { clientOf } from '../client'
import { ClientSlots } from '../slots'
import { CrossSiteError, TooBusyError, TooManyStreamsError } from '../errors'
import { addVary } from '../error-page'
import { TreeWatcher, type Change, type WatchLog, type WatchOptions } from './watch'

type Watcher = Pick<TreeWatcher, 'start' | 'close'>
/** Makes the tree's watcher (tests put a stand-in). */
export type MakeWatcher = (opts: WatchOptions, onChange: (change: Change) => void, log: WatchLog) => Watcher

/** The `liveReload` option, checked. */
export interface LiveSettings {
  ignore: string[]
  debounceMs: number
  allowedHosts: string[]
  maxFolders: number
  maxStreams: number
  maxStreamsPerClient: number
}

/** One browser's event stream: a reader that fell behind is owed one "everything changed" once it catches up. */
interface Listener { body: PassThrough, client: string, owed: boolean }

const SCRIPT = readFileSync(path.join(__dirname, 'assets', 'live.js'))
const SCRIPT_NAME = `live-${createHash('sha256').update(SCRIPT).digest('base64url').slice(0, 12)}.js`
/** The folder, below the mount prefix, of the script and the stream (the listing's assets' folder). */
const DIR = '.serve-dir'
/** How long a browser waits before it connects again after the stream broke (EventSource's `retry:`). */
const RETRY_MS = 1000
/** The longest time between two messages of a stream, so that no proxy or idle timeout cuts it. */
const PING_MS = 15_000
/** The shortest, whatever the idle timeout: a ping loop is never a busy loop. */
const MIN_PING_MS = 100
/** How long registering waits for the tree to be watched; a larger tree goes on being read after. */
const START_WAIT_MS = 5000
/**
 * Bytes a stream may hold unsent (beside the socket's own buffers): past it, a reader that does not
 * keep up gets no more events until it has caught up, then one that says everything changed.
 */
const STREAM_BUFFER = 16 * 1024
/** The longest event: a longer list of paths is told as "everything changed". */
const MAX_EVENT = 16 * 1024
/** Answers that may carry the script: pages. */
const PAGE_TYPE = /^(?:text\/html|application\/xhtml\+xml)\b/

export class LiveReload {
  /** The tag put into pages: same origin, external, deferred (so a CSP of `script-src 'self'` runs it). */
  readonly tag: Buffer
  /** The script's name in the assets' folder, for the listing page. */
  readonly scriptName = SCRIPT_NAME
  private readonly streams = new Set<Listener>()
  /** The streams' places, in total and by client. */
  private readonly places: ClientSlots
  private readonly watcher: Watcher
  /** This server's run: a page that sees another one reloads (what it shows may have changed meanwhile). */
  private readonly id = randomUUID()
  private readonly pingMs: number

  /**
   * @param idleTimeout the server's socket idle timeout (Fastify's `connectionTimeout`, `0` or
   *   `undefined` for none): streams are pinged well inside it
   * @param startWaitMs how long start() waits for the tree to be watched (tests make it short)
   * @param makeWatcher makes the tree's watcher (tests put a stand-in)
   */
  constructor (
    private readonly settings: LiveSettings,
    watched: Omit<WatchOptions, 'ignore' | 'debounceMs' | 'maxFolders'>,
    private readonly mount: readonly string[],
    private readonly log: WatchLog & { info: WatchLog['warn'] },
    idleTimeout: number | undefined,
    private readonly startWaitMs = START_WAIT_MS,
    makeWatcher: MakeWatcher = (...args) => new TreeWatcher(...args)
  ) {
    const src = '/' + encodePath([...mount, DIR]) + '/' + SCRIPT_NAME
    this.tag = Buffer.from(`<script src="${escapeHtml(src)}" defer="defer"></script>`)
    // none (0, or NaN from undefined): the default ping
    this.pingMs = Math.max(MIN_PING_MS, Math.min(PING_MS, Math.floor(Number(idleTimeout) / 3) || PING_MS))
    const { ignore, debounceMs, maxFolders } = settings
    this.places = new ClientSlots(settings.maxStreams, settings.maxStreamsPerClient)
    this.watcher = makeWatcher({ ...watched, ignore, debounceMs, maxFolders }, (change) => { this.tell(change) }, log)
  }

  /**
   * Whether the answer to `req` for a file of `type` gets the script: a page navigation (a
   * document or a frame, by Fetch Metadata; without it, a request that accepts HTML) for the whole
   * page. Never a `fetch()` of a fragment, never a range. A page's answer then depends on those
   * headers: caches are told.
   */
  wants (req: FastifyRequest, reply: FastifyReply, type: string): boolean {
    if (!PAGE_TYPE.test(type)) return false
    addVary(reply, 'Sec-Fetch-Dest, Accept')
    const h = req.headers
    if (h.range !== undefined) return false
    const dest = h['sec-fetch-dest']
    if (dest !== undefined) return dest === 'document' || dest === 'iframe' || dest === 'frame'
    return h.accept?.includes('text/html') === true
  }

  /**
   * Starts watching: resolves once the tree is watched (or cannot be: the server serves on
   * without), or after `startWaitMs` of a large tree, which goes on being watched meanwhile
   * (Fastify gives a plugin 10 s to register).
   */
  async start (): Promise<void> {
    let waited: NodeJS.Timeout | undefined
    const slow = new Promise<boolean>((resolve) => { waited = setTimeout(resolve, this.startWaitMs, true) })
    const late = await Promise.race([this.watcher.start().then(() => false), slow])
    clearTimeout(waited)
    if (late) this.log.info({}, 'live reload: the tree is still being read; changes in it are told once it is')
  }

  /** The script and the stream, in `scope` (the plugin's: behind its login, beside the listing's assets). */
  install (scope: FastifyInstance, prefixSegments: readonly string[]): void {
    const dir = displayPath([...prefixSegments, DIR])
    scope.get(dir + SCRIPT_NAME, async (_req, reply) => {
      // named by its hash: a new version is a new name
      return reply.type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=31536000, immutable').send(SCRIPT)
    })
    scope.get(dir + 'live', async (req, reply) => await this.stream(req, reply))
  }

  /**
   * One browser's event stream: refused across sites and to other hosts' names (DNS rebinding), and
   * past the number of streams the server, and one client, may hold.
   */
  private async stream (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // CORS never applies: a page of another origin has no business here, refused or not
    reply.removeHeader('access-control-allow-origin')
    refuseCrossSite(req, this.settings.allowedHosts, (why) => new CrossSiteError(why))
    const client = clientOf(req)
    const release = this.places.take(client)
    if (release === null && this.places.refusal(client) === 'total') throw new TooBusyError('live reload streams')
    if (release === null) {
      req.log.warn({ client, streams: this.places.heldBy(client) }, 'live reload: too many streams from one client')
      const err = new TooManyStreamsError(this.settings.maxStreamsPerClient)
      throw Object.assign(err, { headers: { 'retry-after': '10' } })
    }
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER })
    const listener: Listener = { body, client, owed: false }
    this.streams.add(listener)
    body.write(`retry: ${RETRY_MS}\n\n` + message('hello', { id: this.id }))
    // a comment now and then: the connection is never idle long enough to be cut (unless it is not read)
    const ping = setInterval(() => { send(listener, ': ping\n\n') }, this.pingMs).unref()
    const gone = (): void => {
      clearInterval(ping)
      if (this.streams.delete(listener)) release()
    }
    body.once('close', gone)
    body.once('finish', gone)
    reply.raw.once('close', () => { body.destroy() })
    return reply.code(200).headers({
      'content-type': 'text/event-stream',
      // no-transform: a proxy compressing would hold the events back too
      'cache-control': 'no-store, no-transform',
      // nginx would hold the events back in its buffer
      'x-accel-buffering': 'no'
    }).send(body)
  }

  /** Tells every open stream what changed, as URL paths (too many of them: that everything did). */
  private tell (change: Change): void {
    const paths = change.paths.map((p) => '/' + encodePath([...this.mount, ...p.split('/')]))
    let event = message('change', change.all === true ? EVERYTHING : { css: change.css, paths })
    if (event.length > MAX_EVENT) event = message('change', EVERYTHING)
    // one copy of the bytes for every stream, not one per stream
    const bytes = Buffer.from(event)
    for (const s of this.streams) send(s, bytes)
  }

  /** Ends every stream at once (a shutdown waits for none of them) and stops watching. */
  async close (): Promise<void> {
    for (const s of this.streams) s.body.end()
    await this.watcher.close()
  }
}

/** The event that says everything changed: every page reloads. */
const EVERYTHING = { css: false, paths: [], all: true }

/** Writes `text` to a stream that keeps up; one that does not is owed "everything changed" instead. */
function send (listener: Listener, text: string | Buffer): void {
  if (listener.owed) return
  if (!listener.body.writableNeedDrain) {
    listener.body.write(text)
    return
  }
  listener.owed = true
  listener.body.once('drain', () => {
    listener.owed = false
    send(listener, message('change', EVERYTHING))
  })
}

function message (event: string, data: object): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
