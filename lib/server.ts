// Server-level settings for a service left running: limits and timeouts, and answers for requests
// Node's HTTP parser rejects before Fastify sees them. Shared by app.ts and the command (lib/command.ts).
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { EventEmitter } from 'node:events'
import type { Http2ServerResponse } from 'node:http2'
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyServerOptions, LogController } from 'fastify'
import { readFileSync } from 'node:fs'
import { createSecureContext, type TLSSocket } from 'node:tls'
import { createRequire } from 'node:module'
import { logFrameworkErrors } from './request-log'
import { errorHandler } from './serve-dir/error-page'

/** Limits and timeouts, all in one place (README: "Running in production"). */
export const LIMITS = {
  /** A socket with no byte in or out for this long is closed (a dead or stalled client). */
  connectionTimeout: 120_000,
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeout: 5_000,
  /** The whole request (line, headers, body) must arrive within this; the response may take longer. */
  requestTimeout: 30_000,
  /** The headers must arrive within this: slowloris clients are cut off early. */
  headersTimeout: 10_000,
  /** How often Node checks those two timeouts (its default, 30 s, would let a slow client stay 40 s). */
  connectionsCheckingInterval: 2_000,
  /** Request line plus headers, in bytes; more is a 431. */
  maxHeaderSize: 16 * 1024,
  /** Request target, in bytes; more is a 414 (it must stay below maxHeaderSize to be seen at all). */
  maxUrlLength: 8 * 1024,
  /**
   * Streams one HTTP/2 connection may have open at once (Node's default is 2^32 - 1), as nginx's
   * 128 or Caddy's 250 bound it.
   */
  http2MaxStreams: 100,
  /**
   * HTTP/2 streams one client address may have open at once over all its connections (the
   * `http2ClientStreams` option): each holds a descriptor and its buffers until it is read.
   */
  http2ClientStreams: 100,
  /** An HTTP/2 session that timed out has this long to close its TLS socket before it is destroyed. */
  http2SocketGrace: 2_000,
  /** Pipelined requests one HTTP/1.1 connection may have waiting behind the one being answered; more close it. */
  maxPipelined: 1024
} as const

const PARSER_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADERS_TIMEOUT: 408
}

/**
 * For Fastify's `clientErrorHandler`: a request Node's parser refused (malformed, headers too big,
 * too slow) gets a short plain answer with the right status, the connection is closed, and one
 * log line says so. Fastify's own handler answers JSON whatever the client asked.
 */
export const clientErrorHandler = refusedWith()

/**
 * A {@link clientErrorHandler} that also tells `onRefused` (the command's Python-format lines do
 * not go through pino): the client's address, the status and its reason.
 */
export function refusedWith (
  onRefused?: (remoteAddress: string | undefined, statusCode: number, reason: string) => void
) {
  return function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    // a reset or already closed connection has no one left to answer
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const statusCode = PARSER_STATUS[err.code as string] ?? 400
    const reason = STATUS_CODES[statusCode] as string
    // never the raw bytes: they may hold credentials
    this.log.info({ code: err.code, statusCode, remoteAddress: socket.remoteAddress }, `client error: ${reason}`)
    onRefused?.(socket.remoteAddress, statusCode, reason)
    endPlain(socket, statusCode)
  }
}

/** Answers on a raw socket with a short plain-text status and closes the connection. */
export function endPlain (socket: Socket, statusCode: number, headers = ''): void {
  const reason = STATUS_CODES[statusCode] as string
  const body = `${statusCode} ${reason}\n`
  socket.end(`HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
    `${headers}X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`)
}

/**
 * RFC 9112 §3.2.2: a server must accept a request target in absolute form (`GET http://host/x`,
 * as sent to proxies); routing needs the origin form (`/x`). The host part is not used: answers
 * never name a host (redirects are relative).
 */
export function originForm (url: string): string {
  if (url.startsWith('/')) return url
  const m = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*(.*)$/i.exec(url)
  if (m === null) return url
  return m[1].startsWith('/') ? m[1] : '/' + m[1]
}

/** Fastify's own copies of its schema compilers, as it would load them itself. */
const fastifyRequire = createRequire(require.resolve('fastify'))
type Build = (...args: unknown[]) => unknown

/** A compiler factory that loads `name` (Fastify's own copy) the first time it is used. */
function loadedOnUse (name: string): Build {
  let build: Build | undefined
  return (...args) => (build ??= (fastifyRequire(name) as () => Build)())(...args)
}

/**
 * Fastify loads Ajv and fast-json-stringify (~50 ms, a seventh of the start) when a server is
 * made; these routes have no schemas, so here they load with the first route that has one. Fastify
 * treats such a validator as custom: header schemas keep the case of their keys.
 */
export const lazySchemaCompilers = {
  buildValidator: loadedOnUse('@fastify/ajv-compiler'),
  buildSerializer: loadedOnUse('@fastify/fast-json-stringify-compiler')
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

/** Fastify server options that apply {@link LIMITS} and {@link clientErrorHandler}. */
export const limitOptions = {
  connectionTimeout: LIMITS.connectionTimeout,
  keepAliveTimeout: LIMITS.keepAliveTimeout,
  requestTimeout: LIMITS.requestTimeout,
  http: {
    maxHeaderSize: LIMITS.maxHeaderSize,
    headersTimeout: LIMITS.headersTimeout,
    connectionsCheckingInterval: LIMITS.connectionsCheckingInterval,
    // checked by plugins/limits.ts instead, so that the 400 is logged and answered as the client asked
    requireHostHeader: false
  },
  rewriteUrl: (req: { url?: string }): string => originForm(req.url as string),
  clientErrorHandler,
  schemaController: { compilersFactory: lazySchemaCompilers }
}

/** A file the TLS setup names cannot be read: said in one line, exit 1. */
export class TlsFileError extends Error {}

/** Reads the certificate, key and password; one clear error if any cannot be read or used. */
export function readTls (
  tls: { cert: string, key?: string, passwordFile?: string }
): { cert: Buffer, key: Buffer, passphrase?: string } {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new TlsFileError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code as string}`)
    }
  }
  const cert = read('certificate', tls.cert)
  // like Python: without --tls-key the key is in the certificate file
  const key = tls.key === undefined ? cert : read('key', tls.key)
  const passphrase = tls.passwordFile === undefined
    ? undefined
    : read('password file', tls.passwordFile).toString('utf8').split(/\r?\n/)[0]
  try {
    createSecureContext({ cert, key, passphrase })
  } catch (err) {
    throw new TlsFileError(`cannot use the TLS certificate and key: ${tlsHint(err as NodeJS.ErrnoException, tls)}`)
  }
  return { cert, key, ...(passphrase === undefined ? {} : { passphrase }) }
}

/** OpenSSL's words for the usual mistakes, said as what to do (the command's flag, npm start's variable). */
function tlsHint (err: NodeJS.ErrnoException, tls: { cert: string, key?: string, passwordFile?: string }): string {
  const keyFile = tls.key ?? tls.cert
  if (err.code === 'ERR_OSSL_UNSUPPORTED') return `no private key OpenSSL can read in ${keyFile}; name the key's file with --tls-key (SERVE_DIR_TLS_KEY)`
  if (err.code === 'ERR_OSSL_BAD_DECRYPT') {
    return tls.passwordFile === undefined
      ? `the key in ${keyFile} is encrypted; give a file holding its password with --tls-password-file (SERVE_DIR_TLS_PASSWORD_FILE)`
      : `the password in ${tls.passwordFile} does not open the key in ${keyFile}`
  }
  if (err.code === 'ERR_OSSL_PEM_NO_START_LINE') return `no PEM certificate in ${tls.cert}`
  return err.message
}

/** Options of an HTTPS (or HTTP/2) server: the TLS material, HTTP/1.1 for clients without h2, and the HTTP limits. */
export function httpsOptions (tls: ReturnType<typeof readTls>): object {
  return { ...tls, allowHTTP1: true, settings: { maxConcurrentStreams: LIMITS.http2MaxStreams }, ...limitOptions.http }
}

/** The TLS material {@link readTls} returns. */
export type TlsMaterial = ReturnType<typeof readTls>

/** What tells the app's server from the command's: how it is reached and how it logs. */
export interface ServerSetup {
  /** HTTPS with this certificate and key; plain HTTP without. */
  tls?: TlsMaterial
  /** HTTP/2 (with `tls`), HTTP/1.1 for clients that do not offer h2. */
  http2?: boolean
  /** Writes the one line per request. */
  logController: LogController
}

/**
 * The Fastify server options of the app (`fastify start -o`) and of the command, built from what
 * each was told and nothing else: limits and timeouts, plain answers for requests Node's parser
 * refuses, one log line per request (URLs Fastify's router cannot decode included), and TLS.
 */
export function serverOptions (
  { tls, http2 = false, logController }: ServerSetup
): FastifyServerOptions & { logController: LogController } {
  return {
    ...limitOptions,
    ...(tls === undefined ? {} : { https: httpsOptions(tls), http2: http2 as false }),
    logController,
    frameworkErrors: logFrameworkErrors(logController, errorHandler)
  }
}

/**
 * HTTPS (and HTTP/2) for `npm start`, from the environment: `SERVE_DIR_TLS_CERT`,
 * `SERVE_DIR_TLS_KEY`, `SERVE_DIR_TLS_PASSWORD_FILE`, `SERVE_DIR_HTTP2=1`. fastify-cli creates the
 * server before the app loads, so app.ts reads these when it is loaded; the command never does.
 */
export function tlsFromEnv (env: NodeJS.ProcessEnv = process.env): Pick<ServerSetup, 'tls' | 'http2'> {
  const cert = env.SERVE_DIR_TLS_CERT
  if (cert === undefined || cert === '') return {}
  return {
    tls: readTls({ cert, key: env.SERVE_DIR_TLS_KEY, passwordFile: env.SERVE_DIR_TLS_PASSWORD_FILE }),
    http2: env.SERVE_DIR_HTTP2 === '1'
  }
}

/**
 * Node's HTTP/2 over TLS (20 and 24) never notices a client that vanished while a stream waited
 * for flow control (a download the client stopped reading): no 'end', no 'close'. The session
 * times out (Fastify's `http2SessionTimeout`) and closes its streams, but its socket then waits
 * forever to flush, holding a descriptor. Here a timed-out session's socket gets
 * {@link LIMITS}.http2SocketGrace to close by itself and is then destroyed.
 */
export function closeTimedOutHttp2Sockets (server: EventEmitter): void {
  let session: EventEmitter | undefined
  server.on('session', (s: EventEmitter) => { session = s })
  // Node's own 'secureConnection' listener, registered first, has just made this socket's session
  // (none for a client that chose HTTP/1.1)
  server.on('secureConnection', (socket: TLSSocket) => {
    const s = session
    session = undefined
    s?.once('timeout', () => { setTimeout(() => { socket.destroy() }, LIMITS.http2SocketGrace).unref() })
  })
}

/**
 * Node's HTTP/2 compatibility response is no stream `stream.finished()` can read: once its stream
 * has closed (reset by the client, its session destroyed or timed out), `finished(res)` never calls
 * back. Fastify destroys a body it pipes into a response only through `finished(res)`, so a body
 * that began after the close (a file whose open was under way when the client went) was never
 * destroyed, nor read: its descriptor and buffers stayed for good (ten connections of 101 unread
 * streams, closed at once, kept 994 descriptors). Here a body piped into a response whose stream
 * is gone is destroyed at once; one piped before still goes with the response's 'close'.
 */
export function dropBodiesOfClosedStreams (res: Http2ServerResponse): void {
  res.on('pipe', (body: Readable) => { if (res.stream.destroyed) body.destroy() })
}

/**
 * At most `max` HTTP/2 streams being answered at once for one client address, over all its
 * connections: the per-connection limit alone let eleven connections of 100 unread streams hold
 * 1,100 descriptors (more than a default `ulimit -n`) and 1.3 GiB. Says whether this stream may
 * go on; its place is given back when its response closes.
 */
export function clientStreamBudget (max: number): (address: string, res: EventEmitter) => boolean {
  const open = new Map<string, number>()
  return (address, res) => {
    const held = open.get(address) ?? 0
    if (held >= max) return false
    open.set(address, held + 1)
    res.once('close', () => {
      const left = (open.get(address) as number) - 1
      if (left === 0) open.delete(address)
      else open.set(address, left)
    })
    return true
  }
}

/**
 * Node's HTTP/2 server applies none of node:http's request timeouts to the HTTP/1.1 clients it
 * takes (allowHTTP1): a slowloris client there kept its connection for as long as it trickled.
 * Here such a connection must deliver each request's headers within `headersTimeout` of connecting
 * or of its last response (which also closes it when idle that long), as on plain HTTP.
 */
export function cutSlowHttp1Headers (server: EventEmitter, headersTimeout: number = LIMITS.headersTimeout): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>()
  const arm = (socket: Socket): void => {
    clearTimeout(deadlines.get(socket))
    deadlines.set(socket, setTimeout(() => { socket.destroy() }, headersTimeout).unref())
  }
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return
    arm(socket)
    socket.once('close', () => { clearTimeout(deadlines.get(socket)) })
  })
  server.on('request', (req: { httpVersionMajor: number, socket: Socket }, res: EventEmitter) => {
    if (req.httpVersionMajor !== 1) return
    clearTimeout(deadlines.get(req.socket))
    res.once('finish', () => { if (!req.socket.destroyed) arm(req.socket) })
  })
}

type Route = (req: { socket: Socket }, res: EventEmitter) => void

/**
 * HTTP/1.1 answers pipelined requests in order, but Node hands each one to the app as soon as it
 * is parsed: a client that sent 3.7 MB of requests and read nothing had thousands being answered
 * at once, each holding a descriptor and a buffered body (four such connections: 17,000
 * descriptors and 1.4 GiB). Here a connection's next request reaches `route` only once the one
 * before has been answered, and Node itself stops reading a connection whose answers are not
 * being drained: a connection holds one answer and the requests of one read (a connection with
 * more than `maxWaiting` waiting is closed). The waiting ones are dropped if the client goes.
 */
export function answerInOrder (route: Route, maxWaiting: number = LIMITS.maxPipelined): Route {
  const lines = new WeakMap<Socket, Array<Parameters<Route>>>()
  const start = (line: Array<Parameters<Route>>): void => {
    const [req, res] = line[0]
    res.once('finish', () => {
      line.shift()
      if (line.length > 0) start(line)
    })
    route(req, res)
  }
  return (req, res) => {
    const { socket } = req
    let line = lines.get(socket)
    if (line === undefined) {
      const fresh: Array<Parameters<Route>> = []
      lines.set(socket, fresh)
      socket.once('close', () => { fresh.length = 0 })
      line = fresh
    }
    line.push([req, res])
    if (line.length === 1) start(line)
    else if (line.length > maxWaiting + 1) socket.destroy()
  }
}

/**
 * With uploads on: an upload may take longer than `requestTimeout` (it is cut when it stalls
 * instead, the plugin's `uploads.idleTimeout`), so the server drops that timeout; headers must
 * still come within `headersTimeout`, and a socket idle for `connectionTimeout` is still closed.
 * And `Expect: 100-continue` is answered by the upload once it has checked the request (a refusal
 * then costs the client no body), not by Node before anyone looked.
 */
export function allowLongUploads (server: EventEmitter & { requestTimeout?: number }): void {
  if (server.requestTimeout !== undefined) server.requestTimeout = 0
  server.on('checkContinue', (req, res) => { server.emit('request', req, res) })
}
