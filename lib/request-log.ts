import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

const bytesAtStart = new WeakMap<object, number>()

/**
 * One log line per request, written when the response is finished: method, url, status, bytes
 * written to the socket for this response (headers included) and response time in ms. Never
 * bodies or file contents. Replaces Fastify's two lines ("incoming request", "request completed").
 */
export class OneLineLogController extends LogController {
  incomingRequest (request: FastifyRequest): void {
    bytesAtStart.set(request.raw, request.raw.socket.bytesWritten)
  }

  requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      bytes: request.raw.socket.bytesWritten - (bytesAtStart.get(request.raw) ?? 0),
      responseTime: Math.round(reply.elapsedTime * 100) / 100
    }
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored')
    } else {
      reply.log.info(line, 'request completed')
    }
  }
}
