// The baseline: bare Fastify 5 + @fastify/static with its built-in listing, as
// ../shared/bench/peers/fastify-static.mjs runs it. Usage: ROOT=dir PORT=n [HOST=h] node fastify-static.mjs
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import path from 'node:path'

const root = path.resolve(process.env.ROOT ?? '.')
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))

const app = Fastify({ logger: false })
await app.register(fastifyStatic, {
  root,
  prefix: '/',
  index: ['index.html'],
  list: {
    format: 'html',
    names: ['/'],
    render: (dirs, files) =>
      '<!doctype html><html><head><meta charset="utf-8"><title>Index</title></head><body><ul>\n' +
      dirs.map((d) => `<li><a href="${esc(d.href)}/">${esc(d.name)}/</a></li>`).join('\n') + '\n' +
      files.map((f) => `<li><a href="${esc(f.href)}">${esc(f.name)}</a></li>`).join('\n') + '\n</ul></body></html>\n'
  }
})
await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' })
const shutdown = () => app.close().then(() => process.exit(0), () => process.exit(1))
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
