import { isIP } from 'node:net'
import {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest
} from 'fastify'
import { redactToken } from './serve-dir/auth/login'

/** pino's levels, quietest last. */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** Whether `log` writes at `level`; an unknown (custom) level counts as on. */
function enabled (log: FastifyBaseLogger, level: string): boolean {
  return LEVELS.indexOf(log.level) <= LEVELS.indexOf(level)
}

/** Bytes a socket had written when its previous response finished; responses on one socket finish in order. */
const bytesAtLastResponse = new WeakMap<object, number>()

/** HTTP/1: bytes written to the socket for this response, headers included. */
function socketBytes (request: FastifyRequest): number {
  const socket = request.raw.socket
  const written = socket.bytesWritten
  const bytes = written - (bytesAtLastResponse.get(socket) ?? 0)
  bytesAtLastResponse.set(socket, written)
  return bytes
}

/** Client addresses, read when each request came. */
const addresses = new WeakMap<object, string | undefined>()

/**
 * Keeps a request's address: it is read through its socket (or HTTP/2 stream), which may be gone
 * by the time the request is logged (a client that sends a request and closes at once).
 */
function noteAddress (request: FastifyRequest): void {
  addresses.set(request.raw, request.ip)
}

function addressOf (request: FastifyRequest): string {
  // Fastify calls incomingRequest first on every path that logs a request (routes, 404s, frameworkErrors)
  return loggedAddress(addresses.get(request.raw))
}

/**
 * The client's address as logged: `-` when unknown (a connection closed before it was read).
 * Behind --trust-proxy it comes from X-Forwarded-For, which any client can fill with text: what
 * is not an IP address is escaped (all but printable ASCII, and `"`, `\`) so that it stays one
 * token and cannot forge a log line's fields or reach a terminal as a control.
 */
export function loggedAddress (address: string | undefined): string {
  if (address === undefined || address === '') return '-'
  return isIP(address) !== 0 ? address : address.replace(/[^\x21-\x7e]|["\\]/g, hexEscape)
}

/**
 * HTTP/2: streams share one connection, so the count is the body's: its declared length once sent
 * whole, 0 for HEAD and bodiless statuses, `null` when unknown (a streamed body, a cut response).
 */
function h2BodyBytes (request: FastifyRequest, reply: FastifyReply): number | null {
  if (request.method === 'HEAD' || reply.statusCode === 304 || reply.statusCode === 204) return 0
  const length = reply.getHeader('content-length')
  return length !== undefined && reply.raw.writableFinished ? Number(length) : null
}

/**
 * One log line per request, written when the response is finished: method, url, status, bytes
 * written to the socket for this response (headers included; on HTTP/2 the body's) and response time in ms. Never
 * bodies or file contents. Replaces Fastify's two lines ("incoming request", "request completed").
 */
export class OneLineLogController extends LogController {
  incomingRequest (request: FastifyRequest): void {
    noteAddress(request)
  }

  requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    neverThrows(() => { this.line(error, request, reply) })
  }

  private line (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const h2 = request.raw.httpVersionMajor === 2
    const bytes = h2 ? h2BodyBytes(request, reply) : socketBytes(request)
    if (!enabled(reply.log, error ? 'error' : 'info')) return
    const line = {
      method: request.method,
      // JSON escapes control characters already; pino-pretty and terminals would not
      url: loggedUrl(request.url),
      statusCode: reply.statusCode,
      remoteAddress: addressOf(request),
      bytes,
      responseTime: Math.round(reply.elapsedTime * 100) / 100
    }
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored')
    } else {
      reply.log.info(line, 'request completed')
    }
  }
}

/**
 * Writes a request's log line. A log line runs in the response's 'finish' event, where a throw
 * would end the process: whatever it did not expect is told as a process warning instead.
 */
function neverThrows (write: () => void): void {
  try {
    write()
  } catch (err) {
    process.emitWarning(`a request's log line could not be written: ${(err as Error).message}`)
  }
}

/**
 * A `frameworkErrors` for apps using {@link OneLineLogController}: Fastify logs no line for a
 * request its router rejects (a URL it cannot decode), so this adds it, then answers with `handler`.
 */
export function logFrameworkErrors<H extends (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => unknown> (
  controller: LogController,
  handler: H
): H {
  return function frameworkErrors (err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    reply.raw.once('finish', () => controller.requestCompleted(null, req, reply))
    return handler(err, req, reply)
  } as H
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number): string => String(n).padStart(2, '0')

/** Python's `log_date_time_string()`: `25/Nov/2026 08:38:21`, local time. */
export function pythonDate (d: Date): string {
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** Control characters shown as `\xNN`, as Python's server does, so a URL cannot forge log lines. */
export function escapeControl (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, hexEscape)
}

/**
 * The fields of the line for a request answered before Fastify sees it (CONNECT, a method HTTP/2
 * allows and the router does not know): as a request line's, escaped as its.
 */
export function unroutedLine (req: { method?: string, url?: string, socket: { remoteAddress?: string } }, statusCode: number): object {
  return {
    method: escapeControl(String(req.method)),
    url: loggedUrl(String(req.url)),
    statusCode,
    remoteAddress: loggedAddress(req.socket.remoteAddress)
  }
}

/** A URL as the logs show it: a login link's token hidden, control characters escaped. */
function loggedUrl (url: string): string {
  return escapeControl(redactToken(url))
}

const hexEscape = (c: string): string => {
  const code = c.charCodeAt(0)
  return code > 0xff ? '\\u' + code.toString(16).padStart(4, '0') : '\\x' + code.toString(16).padStart(2, '0')
}

/**
 * The line Python's `http.server` writes for each request, on stderr:
 * `127.0.0.1 - - [25/Nov/2026 08:38:21] "GET / HTTP/1.1" 200 -`
 */
export class PythonLogController extends LogController {
  private readonly on: boolean

  /** `level`: the command's log level; request lines are `info`, so `warn` and above turn them off. */
  constructor (private readonly out: { write: (s: string) => unknown } = process.stderr, level = 'info') {
    super()
    this.on = LEVELS.indexOf(level) <= LEVELS.indexOf('info')
  }

  incomingRequest (request: FastifyRequest): void {
    noteAddress(request)
  }

  requestCompleted (_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // routes that log only warnings (health and readiness checks) have no request line either
    if (!this.on || LEVELS.indexOf(request.routeOptions.logLevel) > LEVELS.indexOf('info')) return
    const { method, url, httpVersion } = request.raw
    neverThrows(() => {
      this.out.write(`${addressOf(request)} - - [${pythonDate(new Date())}] "${method} ${loggedUrl(url as string)} HTTP/${httpVersion}" ${reply.statusCode} -\n`)
    })
  }

  /** A request the HTTP parser refused (400, 408, 431), as Python logs its errors: a code line, then the request's. */
  refused (remoteAddress: string | undefined, statusCode: number, reason: string): void {
    if (!this.on) return
    const at = `${loggedAddress(remoteAddress)} - - [${pythonDate(new Date())}]`
    this.out.write(`${at} code ${statusCode}, message ${reason}\n${at} "" ${statusCode} -\n`)
  }
}
