import fp from 'fastify-plugin'
import createError from '@fastify/error'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import {
  LIMITS, answerInOrder, clientStreamBudget, closeTimedOutHttp2Sockets, cutSlowHttp1Headers,
  dropBodiesOfClosedStreams, endPlain
} from '../lib/server'
import { unroutedLine } from '../lib/request-log'
import { InvalidOptionError } from '../lib/serve-dir/errors'
import { networkOf } from '../lib/serve-dir/client'

/** The request target is longer than the app accepts. */
export const UriTooLongError = createError<[number]>(
  'FST_SERVE_DIR_URI_TOO_LONG',
  'Request target longer than %d bytes',
  414
)

/** RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host header; HTTP/1.0 at most one. */
export const BadHostError = createError('FST_SERVE_DIR_BAD_HOST', 'Missing or repeated Host header', 400)

/** HTTP/2 request headers larger than HTTP/1.1 accepts (Node's HTTP/2 server applies no such limit itself). */
export const HeadersTooLargeError = createError<[number]>(
  'FST_SERVE_DIR_HEADERS_TOO_LARGE',
  'Request headers larger than %d bytes',
  431
)

/** The bytes the headers would take in HTTP/1.1 (`name: value` and CRLF each), which maxHeaderSize bounds there. */
function headerBytes (rawHeaders: string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) n += rawHeaders[i].length + rawHeaders[i + 1].length + 4
  return n
}

function hostCount (rawHeaders: string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].length === 4 && rawHeaders[i].toLowerCase() === 'host') n++
  return n
}

export interface LimitsOptions {
  /** Longest request target, in bytes; longer is a 414. Default 8 KiB. */
  maxUrlLength?: number | string
  /** Connections held at once; more are dropped at accept. Default: no limit. */
  maxConnections?: number | string
  /** HTTP/2 streams one client address may have open at once, over all its connections; more are a 503. Default 100. */
  http2ClientStreams?: number | string
}

/** The 405 for a method we do not serve, on a response Fastify never saw (HTTP/2's CONNECT, unknown methods). */
function refuse (res: Http2ServerResponse): void {
  res.writeHead(405, {
    allow: 'GET, HEAD',
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff'
  })
  res.end('405 Method Not Allowed\n')
}

/** The 503 for a stream over its client's budget, on a response Fastify never saw. */
function tooBusy (res: Http2ServerResponse): void {
  res.writeHead(503, {
    'retry-after': '1',
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff'
  })
  res.end('503 Service Unavailable: too many streams open from this address\n')
}

/** A whole number of at least 1, from the app's options (strings from the command line of `fastify start`). */
function positive (name: string, value: number | string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidOptionError(name, `expected a whole number of at least 1, got ${String(value)}`)
  return n
}

/** Per-request limits the HTTP server itself does not apply (lib/server.ts has the rest). */
export default fp<LimitsOptions>(async (fastify, opts) => {
  const maxUrlLength = Number(opts.maxUrlLength ?? LIMITS.maxUrlLength)
  if (opts.maxConnections !== undefined) fastify.server.maxConnections = Number(opts.maxConnections)
  const withinBudget = clientStreamBudget(positive('http2ClientStreams', opts.http2ClientStreams ?? LIMITS.http2ClientStreams))
  if (fastify.initialConfig.http2 === true) {
    closeTimedOutHttp2Sockets(fastify.server)
    cutSlowHttp1Headers(fastify.server)
  }
  // CONNECT (a proxy's method) never reaches Fastify: Node gives it to 'connect' listeners, or
  // drops the connection unanswered. It gets the 405 every other method we do not serve gets.
  fastify.server.on('connect', (req: IncomingMessage | Http2ServerRequest, to: Socket | Http2ServerResponse) => {
    fastify.log.info(unroutedLine(req, 405), 'CONNECT refused')
    // an HTTP/2 stream: an ordinary response
    if ('writeHead' in to) return refuse(to)
    // HTTP/1: Node hands the socket over without its error and timeout handlers: a reset would be
    // an uncaught error (the process would exit) and a client that never closes would stay forever
    to.on('error', () => { to.destroy() })
    to.setTimeout(LIMITS.keepAliveTimeout, () => { to.destroy() })
    endPlain(to, 405, 'Allow: GET, HEAD\r\n')
  })
  // Fastify's own listener, wrapped: HTTP/1.1 pipelined requests are answered one at a time
  // (lib/server.ts, answerInOrder); HTTP/2 allows any token as a method (FOO, or get in lower
  // case): the router knows none of them, and Fastify's fallback answered a bare 404 and logged
  // its whole route table each time. They get the 405 every other method we do not serve gets.
  const [route] = fastify.server.listeners('request') as Array<
    (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void
  >
  fastify.server.removeListener('request', route)
  const inOrder = answerInOrder(route as unknown as Parameters<typeof answerInOrder>[0])
  fastify.server.on('request', (
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse
  ) => {
    if (req.httpVersionMajor === 1) return inOrder(req, res)
    dropBodiesOfClosedStreams(res as Http2ServerResponse)
    // counted per address (an IPv6 client per /64), as logins are
    if (!withinBudget(networkOf(String(req.socket.remoteAddress)), res)) {
      fastify.log.info(unroutedLine(req, 503), 'too many HTTP/2 streams from this address')
      return tooBusy(res as Http2ServerResponse)
    }
    if (fastify.supportedMethods.includes(req.method as string)) return route(req, res)
    fastify.log.info(unroutedLine(req, 405), 'unknown method refused')
    refuse(res as Http2ServerResponse)
  })
  fastify.addHook('onRequest', async (req) => {
    if ((req.raw.url as string).length > maxUrlLength) throw new UriTooLongError(maxUrlLength)
    // HTTP/2 names the host in :authority
    if (req.raw.httpVersionMajor === 1) {
      const hosts = hostCount(req.raw.rawHeaders)
      if (hosts > 1 || (hosts === 0 && req.raw.httpVersionMinor === 1)) throw new BadHostError()
    } else if (headerBytes(req.raw.rawHeaders) > LIMITS.maxHeaderSize) {
      // the same limit as HTTP/1.1's parser applies (a 431 there too)
      throw new HeadersTooLargeError(LIMITS.maxHeaderSize)
    }
  })
}, { name: 'limits' })
