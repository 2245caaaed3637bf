import type { FastifyPluginAsync } from 'fastify'

/**
 * Liveness and readiness for the app. Their paths start with a dot: served folders hide dotfiles
 * by default, so they can never shadow a file someone meant to serve.
 */
export const HEALTH_PATH = '/.serve-dir/health'
export const READY_PATH = '/.serve-dir/ready'

const health: FastifyPluginAsync = async (fastify) => {
  const ok = (status: string) => async (_req: unknown, reply: { header: (k: string, v: string) => unknown }) => {
    reply.header('x-content-type-options', 'nosniff')
    return { status }
  }
  // The process answers: it is alive.
  fastify.get(HEALTH_PATH, { logLevel: 'warn' }, ok('ok'))
  // It takes new work. Once shutting down, Fastify answers 503 before any route (return503OnClosing),
  // so an orchestrator stops sending traffic while requests under way finish.
  fastify.get(READY_PATH, { logLevel: 'warn' }, ok('ready'))
}

export default health
