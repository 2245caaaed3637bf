import type { FastifyPluginAsync } from 'fastify'

/**
 * Liveness for the app. Its path starts with a dot: served folders hide dotfiles by default, so it
 * can never shadow a file someone meant to serve.
 */
export const HEALTH_PATH = '/.serve-dir/health'

const health: FastifyPluginAsync = async (fastify) => {
  fastify.get(HEALTH_PATH, { logLevel: 'warn' }, async () => ({ status: 'ok' }))
}

export default health
