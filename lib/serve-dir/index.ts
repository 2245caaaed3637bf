import path from 'node:path'
import { realpath, stat } from 'node:fs/promises'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import send from '@fastify/send'
import { BadPathError, InvalidOptionError, InvalidRootError, MethodNotAllowedError, NotFoundError } from './errors'
import { directoryLocation, displayPath, isHidden, parseRequestUrl, prefixToSegments } from './resolve'
import { lookup, readEntries, type Found, type SymlinkPolicy } from './lookup'
import { renderHtml, sortEntries, toJson } from './listing'
import { errorHandler, prefersJson } from './respond'

export { InvalidOptionError, InvalidRootError } from './errors'
export type { Entry, JsonListing } from './listing'
export type { SymlinkPolicy } from './lookup'

export interface ServeDirOptions {
  /** Absolute path of the folder to serve. Required; a relative path is an error, not a guess. */
  root: string
  /** URL path the folder is mounted at. Default `'/'`. */
  prefix?: string
  /** File names that stand for their folder, tried in order; `false` turns index files off. Default `['index.html', 'index.htm']`. */
  index?: string[] | false
  /** List a folder that has no index file; `false` answers 404 instead. Default `true`. */
  listing?: boolean
  /** `'ignore'`: names starting with `.` are left out of listings and answered 404; `'allow'`: served like any other. Default `'ignore'`. */
  dotfiles?: 'ignore' | 'allow'
  /** `'inside'`: follow a link only when its real path stays under the real root, else 404; `'follow'`: always; `'deny'`: never. Default `'inside'`. */
  symlinks?: SymlinkPolicy
}

interface Settings {
  realRoot: string
  prefixSegments: string[]
  index: string[]
  listing: boolean
  showHidden: boolean
  symlinks: SymlinkPolicy
}

const OPTION_NAMES = new Set(['root', 'prefix', 'index', 'listing', 'dotfiles', 'symlinks', 'logLevel', 'logSerializers'])
const ALLOWED_METHODS = 'GET, HEAD'

function oneOf<T extends string> (name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new InvalidOptionError(name, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`)
}

function isPlainName (s: unknown): s is string {
  return typeof s === 'string' && s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0')
}

async function settingsOf (opts: Record<string, unknown>): Promise<Settings> {
  for (const key of Object.keys(opts)) {
    if (!OPTION_NAMES.has(key)) throw new InvalidOptionError(key, 'unknown option')
  }
  const { root, prefix = '/', index = ['index.html', 'index.htm'], listing = true } = opts
  if (typeof root !== 'string' || root === '') throw new InvalidOptionError('root', 'is required: the absolute path of the folder to serve')
  if (!path.isAbsolute(root)) throw new InvalidOptionError('root', `must be an absolute path, got ${JSON.stringify(root)} (resolve it against process.cwd() first)`)
  if (typeof prefix !== 'string' || !/^\/[\w.~/-]*$/.test(prefix) || prefixToSegments(prefix).some((s) => s === '.' || s === '..')) {
    throw new InvalidOptionError('prefix', `must be a URL path such as '/' or '/files', got ${JSON.stringify(prefix)}`)
  }
  if (index !== false && !(Array.isArray(index) && index.every(isPlainName))) {
    throw new InvalidOptionError('index', 'must be false or an array of file names')
  }
  if (typeof listing !== 'boolean') throw new InvalidOptionError('listing', 'must be a boolean')
  const dotfiles = oneOf('dotfiles', opts.dotfiles, ['ignore', 'allow'], 'ignore')
  const symlinks = oneOf('symlinks', opts.symlinks, ['inside', 'follow', 'deny'], 'inside')

  let realRoot: string
  try {
    realRoot = await realpath(root)
  } catch (err) {
    throw new InvalidRootError(root, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message)
  }
  if (!(await stat(realRoot)).isDirectory()) throw new InvalidRootError(root, 'not a directory')

  return {
    realRoot,
    prefixSegments: prefixToSegments(prefix),
    index: index === false ? [] : index,
    listing,
    showHidden: dotfiles === 'allow',
    symlinks
  }
}

/**
 * Serves a directory tree like Python's `http.server`, done properly: index files, listings in HTML
 * or JSON, 301 to add a directory's slash, and nothing outside `root` ever reachable.
 */
const plugin: FastifyPluginAsync<ServeDirOptions> = async (fastify, opts) => {
  const settings = await settingsOf(opts as unknown as Record<string, unknown>)
  const { realRoot, prefixSegments, symlinks } = settings
  const windows = process.platform === 'win32'

  // A child context keeps @fastify/static's decorators and our error handler away from the host
  // app; a host that already decorates `sendFile` lends us its own.
  await fastify.register(async function serveDirRoutes (child: FastifyInstance) {
    await child.register(fastifyStatic, {
      root: realRoot,
      serve: false,
      decorateReply: !child.hasReplyDecorator('sendFile')
    })
    child.setErrorHandler(errorHandler)

    async function handler (req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
      const parsed = parseRequestUrl(req.raw.url as string, prefixSegments, windows)
      if (parsed.kind === 'bad') throw new BadPathError(parsed.reason)
      if (parsed.kind === 'outside') throw new NotFoundError()
      const { segments, trailingSlash, search } = parsed.target
      if (!settings.showHidden && isHidden(segments)) throw new NotFoundError()

      const found = await lookup(realRoot, realRoot, segments, symlinks)
      if (found === null) throw new NotFoundError()
      if (found.stat.isDirectory()) {
        if (!trailingSlash) {
          return reply.code(301).header('location', directoryLocation([...prefixSegments, ...segments], search)).send()
        }
        for (const name of settings.index) {
          const file = await lookup(realRoot, found.path, [name], symlinks)
          if (file?.stat.isFile() === true) return sendFile(req, reply, file)
        }
        if (!settings.listing) throw new NotFoundError()
        return sendListing(req, reply, found.path, segments)
      }
      // FIFOs, sockets and devices are never opened: reading one could hang the request forever
      if (!found.stat.isFile() || trailingSlash) throw new NotFoundError()
      return sendFile(req, reply, found)
    }

    async function sendListing (req: FastifyRequest, reply: FastifyReply, dir: string, segments: string[]): Promise<FastifyReply> {
      const entries = await readEntries(realRoot, dir, symlinks, settings.showHidden)
      /* c8 ignore next */ // only if the folder vanished since lookup(): a race no test can time
      if (entries === null) throw new NotFoundError()
      const sorted = sortEntries(entries)
      const dirPath = displayPath([...prefixSegments, ...segments])
      reply.header('vary', 'Accept')
      const format = (req.query as Record<string, unknown>).format
      if (format === 'json' || (format !== 'html' && prefersJson(req))) {
        return reply.type('application/json; charset=utf-8').send(toJson(dirPath, sorted))
      }
      return reply.type('text/html; charset=utf-8').send(renderHtml(dirPath, segments.length === 0, sorted))
    }

    const otherMethods = child.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD')
    const routes = prefixSegments.length === 0 ? ['/*'] : [displayPath(prefixSegments).slice(0, -1), displayPath(prefixSegments) + '*']
    for (const url of routes) {
      child.route({ method: ['GET', 'HEAD'], url, handler })
      // onRequest, so that a request body is never parsed (or waited for) before the 405
      child.route({ method: otherMethods, url, onRequest: refuseMethod, handler: refuseMethod })
    }
  })
}

async function refuseMethod (req: FastifyRequest, reply: FastifyReply): Promise<never> {
  reply.header('allow', ALLOWED_METHODS)
  throw new MethodNotAllowedError(req.method)
}

/**
 * Sends a regular file through @fastify/static's `reply.sendFile` (streaming, ETag, Last-Modified,
 * Range, MIME). Its canonical-path guard refuses any `\` (a Windows separator), which on POSIX is
 * an ordinary character of a file name; such names go to @fastify/send, the engine underneath.
 */
async function sendFile (req: FastifyRequest, reply: FastifyReply, file: Found): Promise<FastifyReply> {
  const dir = path.dirname(file.path)
  const name = '/' + path.basename(file.path)
  const options = { dotfiles: 'allow' as const, index: false as const }
  if (!name.includes('\\')) return reply.sendFile(name, dir, options)
  const { statusCode, headers, stream, type } = await send(req.raw, encodeURI(name), { ...options, root: dir })
  /* c8 ignore next */ // only if the file vanished since lookup(): a race no test can time
  if (type !== 'file') throw new NotFoundError()
  return reply.code(statusCode).headers(headers).send(stream)
}

/** The serve-dir plugin: `app.register(serveDir, { root: '/srv/www' })`. */
export const serveDir = fp(plugin, { fastify: '5.x', name: 'serve-dir' })
export default serveDir
