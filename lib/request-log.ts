import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'

/** Bytes a socket had written when its previous response finished; responses on one socket finish in order. */
const bytesAtLastResponse = new WeakMap<object, number>()

/**
 * One log line per request, written when the response is finished: method, url, status, bytes
 * written to the socket for this response (headers included) and response time in ms. Never
 * bodies or file contents. Replaces Fastify's two lines ("incoming request", "request completed").
 */
export class OneLineLogController extends LogController {
  incomingRequest (): void {}

  requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const socket = request.raw.socket
    const written = socket.bytesWritten
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      bytes: written - (bytesAtLastResponse.get(socket) ?? 0),
      responseTime: Math.round(reply.elapsedTime * 100) / 100
    }
    bytesAtLastResponse.set(socket, written)
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored')
    } else {
      reply.log.info(line, 'request completed')
    }
  }
}

/**
 * A `frameworkErrors` for apps using {@link OneLineLogController}: Fastify logs no line for a
 * request its router rejects (a URL it cannot decode), so this adds it, then answers with `handler`.
 */
export function logFrameworkErrors<H extends (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => unknown> (controller: OneLineLogController, handler: H): H {
  return function frameworkErrors (err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    reply.raw.once('finish', () => controller.requestCompleted(null, req, reply))
    return handler(err, req, reply)
  } as H
}
