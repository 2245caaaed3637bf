import fp from 'fastify-plugin'
import createError from '@fastify/error'
import { LIMITS, closeTimedOutHttp2Sockets } from '../lib/server'

/** The request target is longer than the app accepts. */
export const UriTooLongError = createError<[number]>('FST_SERVE_DIR_URI_TOO_LONG', 'Request target longer than %d bytes', 414)

export interface LimitsOptions {
  /** Longest request target, in bytes; longer is a 414. Default 8 KiB. */
  maxUrlLength?: number | string
  /** Connections held at once; more are dropped at accept. Default: no limit. */
  maxConnections?: number | string
}

/** Per-request limits the HTTP server itself does not apply (lib/server.ts has the rest). */
export default fp<LimitsOptions>(async (fastify, opts) => {
  const maxUrlLength = Number(opts.maxUrlLength ?? LIMITS.maxUrlLength)
  if (opts.maxConnections !== undefined) fastify.server.maxConnections = Number(opts.maxConnections)
  if (fastify.initialConfig.http2 === true) closeTimedOutHttp2Sockets(fastify.server)
  fastify.addHook('onRequest', async (req) => {
    if ((req.raw.url as string).length > maxUrlLength) throw new UriTooLongError(maxUrlLength)
  })
}, { name: 'limits' })
