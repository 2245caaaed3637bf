import { STATUS_CODES } from 'node:http'
import escapeHtml from 'escape-html'
import Negotiator from 'negotiator'
import vary from 'vary'
import type {
  FastifyError,
  FastifyReply,
  FastifyRequest,
  RawServerBase,
  RawServerDefault,
  RouteGenericInterface
} from 'fastify'
import { answerTo, isGone } from './fs/errno'

const MEDIA_TYPES = ['text/html', 'application/json']
const FILE_HEADERS = [
  'etag',
  'last-modified',
  'accept-ranges',
  'content-range',
  'content-length',
  'content-encoding',
  'cache-control',
  'content-disposition'
]

/** Adds fields to `Vary` without dropping those already there (CORS adds Origin first). */
export function addVary (reply: FastifyReply, fields: string): FastifyReply {
  const current = reply.getHeader('vary')
  return reply.header('vary', vary.append(current === undefined ? '' : String(current), fields))
}

/** True when the client prefers JSON to HTML (`Accept: application/json`); browsers and `*\/*` get HTML. */
export function prefersJson (req: FastifyRequest): boolean {
  return new Negotiator(req.raw).mediaType(MEDIA_TYPES) === 'application/json'
}

/** The listing format the Accept header prefers: HTML (browsers, `*\/*`), JSON, or plain text. */
export function preferredListing (req: FastifyRequest): 'html' | 'json' | 'text' {
  const best = new Negotiator(req.raw).mediaType(['text/html', 'application/json', 'text/plain'])
  return best === 'application/json' ? 'json' : best === 'text/plain' ? 'text' : 'html'
}

/** For error pages: `?format=json` (as on listings) or the Accept header. */
function errorAsJson (req: FastifyRequest): boolean {
  const url = req.raw.url as string
  const q = url.indexOf('?')
  return (q !== -1 && new URLSearchParams(url.slice(q)).get('format') === 'json') || prefersJson(req)
}

/**
 * The body of an error page; `message` is escaped, so it may echo what the client sent. `up`, a
 * relative link to the folder above what was asked for, gives a reader who mistyped a way on.
 */
export function errorHtml (statusCode: number, message: string, up?: string): string {
  const title = `${statusCode} ${STATUS_CODES[statusCode]}`
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n</head>\n` +
    `<body>\n<h1>${title}</h1>\n<p>${escapeHtml(message)}</p>\n` +
    (up === undefined ? '' : `<p><a href="${up}">Up to the folder</a></p>\n`) + '</body>\n</html>\n'
}

/** For a page that is not there (404) or not shown (403): its folder (`./`), or for a folder the one above (`../`). */
function upLink (statusCode: number, url: string): string | undefined {
  if (statusCode !== 404 && statusCode !== 403) return undefined
  const q = url.indexOf('?')
  return (q === -1 ? url : url.slice(0, q)).endsWith('/') ? '../' : './'
}

/**
 * Sends an error as HTML or JSON, as the client asked (`Vary: Accept`). JSON has Fastify's own
 * error shape, so clients need not tell our errors from the framework's.
 */
export function sendError (
  req: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
  code?: string,
  headers: Record<string, string> = {}
): FastifyReply {
  // a file's validators may already be set when opening it failed; they do not describe this page
  for (const h of FILE_HEADERS) reply.removeHeader(h)
  addVary(reply.code(statusCode).headers(headers), 'Accept')
    .header('x-content-type-options', 'nosniff').header('content-security-policy', "default-src 'none'")
  if (errorAsJson(req)) {
    return reply.type('application/json; charset=utf-8')
      .send({ statusCode, code, error: STATUS_CODES[statusCode], message })
  }
  return reply.type('text/html; charset=utf-8')
    .send(errorHtml(statusCode, message, upLink(statusCode, req.raw.url as string)))
}

/** A file the lookup found that the file system then refused (gone, denied, out of descriptors). */
function logUnopened (req: FastifyRequest, err: FastifyError): void {
  req.log.warn({ code: err.code, path: (err as NodeJS.ErrnoException).path }, 'file could not be opened')
}

/** The 404 page, in the client's format: the app's not-found handler, and the one a host may take. */
export function notFoundHandler<S extends RawServerBase = RawServerDefault> (
  req: FastifyRequest<RouteGenericInterface, S>,
  reply: FastifyReply<RouteGenericInterface, S>
): FastifyReply<RouteGenericInterface, S> {
  // the same answer on any server Fastify makes (HTTP/1, HTTPS, HTTP/2), typed for each
  sendError(
    req as unknown as FastifyRequest,
    reply as unknown as FastifyReply,
    404,
    'Not found',
    'FST_SERVE_DIR_NOT_FOUND'
  )
  return reply
}

/** Whether an error means "nothing is served here": ours, or the file system's (gone since the lookup). */
export function isMiss (err: FastifyError): boolean {
  return err.code === 'FST_SERVE_DIR_NOT_FOUND' || isGone(err)
}

/** A miss, handed to the 404 handler of the scope the plugin is in, without a file's headers set before it. */
export function handOverMiss (req: FastifyRequest, reply: FastifyReply, err: FastifyError): FastifyReply {
  if (err.code !== 'FST_SERVE_DIR_NOT_FOUND') logUnopened(req, err)
  for (const h of FILE_HEADERS) reply.removeHeader(h)
  reply.removeHeader('x-content-type-options')
  reply.callNotFound()
  return reply
}

/**
 * An error handler that answers in the client's format. 4xx keep their message (they explain the
 * client's own request); 5xx are logged with their stack and answered without internals.
 */
export function errorHandler (
  this: unknown,
  err: FastifyError,
  req: FastifyRequest,
  reply: FastifyReply
): FastifyReply {
  // a file the lookup found that the file system then refused (gone, denied, out of descriptors)
  const fsError = answerTo(err)
  if (fsError !== undefined) {
    logUnopened(req, err)
    return sendError(req, reply, fsError[0], fsError[1], err.code, fsError[0] === 503 ? { 'retry-after': '1' } : {})
  }
  const statusCode = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600
    ? err.statusCode
    : 500
  if (err.code === 'FST_SERVE_DIR_TOO_BUSY') {
    // heavy work turned away, on purpose: a moment later a turn will be free
    req.log.warn(err.message)
    return sendError(req, reply, statusCode, err.message, err.code, { 'retry-after': '1' })
  }
  if (statusCode >= 500) {
    req.log.error({ err }, 'request failed')
    return sendError(req, reply, statusCode, STATUS_CODES[statusCode] as string)
  }
  // the request's own log line carries the status; the why is there for whoever turns on debug
  req.log.debug({ code: err.code, statusCode }, err.message)
  // an error with headers of its own: @fastify/send's 416 carries its Content-Range
  return sendError(req, reply, statusCode, err.message, err.code, (err as { headers?: Record<string, string> }).headers)
}
