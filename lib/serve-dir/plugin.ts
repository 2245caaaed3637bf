// The plugin's registration: its options checked (options.ts), its responders made, and in a
// child scope of its own its error handler, @fastify/static, CORS and extra headers, the listing's
// assets, and the routes. Each request is decided by route.ts and answered by the responder of
// what it is: file/responder.ts, listing/route.ts or archive/route.ts.
import { realpathSync, type Stats } from 'node:fs'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { BadPathError, InvalidOptionError, MethodNotAllowedError, NotFoundError } from './errors'
import { displayPath, encodePath, parseRequestUrl, prefixToSegments } from './url'
import { lookup, type Found } from './fs/lookup'
import { settingsOf, type ServeDirOptions } from './options'
import { decide, type Where } from './route'
import { FileResponder, typeOf } from './file/responder'
import { Lister } from './listing/lister'
import { ListingRoute } from './listing/route'
import { ArchiveRoute } from './archive/route'
import { Walker } from './archive/walk'
import { addVary, errorHandler, handOverMiss, isMiss } from './error-page'
import { UploadRoute } from './upload/route'
import { Login } from './auth/login'
import { LiveReload } from './live/route'
import { ClientSlots } from './slots'

export { InvalidOptionError, InvalidRootError } from './errors'
export type { AuthOptions, LiveReloadOptions, ServeDirOptions, UploadOptions } from './options'
export { hashPassword } from './auth/passwords'
export { redactToken, userOf } from './auth/login'
export type { Entry, JsonListing } from './listing/render'
export type { SymlinkPolicy } from './fs/lookup'

/** Files up to this size are read whole, and their compressed forms kept. */
const CACHE_FILE_BYTES = 1024 * 1024
const ALLOWED_METHODS = 'GET, HEAD'
/**
 * Pages, XML and SVG files under an upload path run in an opaque origin: an uploaded `evil.html`
 * cannot act as the visitor on this server (its requests carry `Origin: null` and are refused).
 */
const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads'
// every XML type: a browser renders RSS, Atom, XSLT, KML or MathML as XML, where XHTML's scripts run
const ACTIVE_TYPE = /^(?:text\/html|text\/xml|text\/mathml|application\/(?:[\w.-]+\+)?xml|image\/[\w.-]+\+xml)\b/i
const kSandbox = Symbol('serve-dir.sandbox')

/**
 * Serves a directory tree like Python's `http.server`, done properly: index files, listings in HTML
 * or JSON, 301 to add a directory's slash, and nothing outside `root` ever reachable.
 * `index.ts` gives it its name and the package's shape.
 */
export const plugin: FastifyPluginAsync<ServeDirOptions> = async (fastify, opts) => {
  const settings = await settingsOf(opts as unknown as Record<string, unknown>)
  const { realRoot, prefix: prefixSegments, symlinks } = settings
  const showHidden = settings.dotfiles === 'allow'
  // as @fastify/static: the prefix is below that of the scope the plugin is registered in
  // (`app.register(scope => scope.register(serveDir, opts), { prefix: '/files' })`, or fastify
  // start's --prefix); routes are declared below it, URLs are read and written from the top
  if (/[:*]/.test(fastify.prefix)) throw new InvalidOptionError('prefix', `the enclosing route prefix must be a plain path, got ${JSON.stringify(fastify.prefix)}`)
  const mount = [...prefixToSegments(fastify.prefix), ...prefixSegments]
  const where: Where = {
    realRoot,
    mount,
    symlinks,
    showHidden,
    index: settings.index,
    listing: settings.listing,
    spa: settings.spa,
    windows: process.platform === 'win32'
  }
  const uploads = settings.uploads === false ? null : new UploadRoute(realRoot, mount, settings.uploads, showHidden)
  /**
   * A file's sidecar (`name.br`) stands for the file: never one an uploader could have put there,
   * before or after the file (nothing an uploader adds may change what another name answers).
   * `follow` leaves links in a looked-up path: uploads reach a folder by its real one (a folder
   * gone meanwhile is a 404, as its file would be).
   */
  const sidecar = (dir: string, name: string): Found | null =>
    uploads?.writesInto(symlinks === 'follow' ? realpathSync.native(dir) : dir) === true
      ? null
      : lookup(realRoot, dir, [name], symlinks, !showHidden)
  // one budget for every body compressed on the fly here: files, pages with live reload's tag, listings
  const compressing = new ClientSlots(settings.compressSlots, settings.compressSlotsPerClient)
  const files = new FileResponder({
    maxAge: settings.maxAge,
    immutable: settings.immutable,
    compress: settings.compress,
    precompressed: settings.precompressed,
    threshold: settings.compressThreshold,
    compressing,
    cacheFileBytes: Math.min(CACHE_FILE_BYTES, settings.cacheBytes),
    cacheTotalBytes: settings.cacheBytes,
    cacheEntries: 10000,
    downloadHtml: settings.downloadHtml
  }, sidecar, symlinks !== 'follow')
  const live = settings.liveReload === false
    ? null
    : new LiveReload(settings.liveReload, { realRoot, symlinks, showHidden }, mount, fastify.log,
      fastify.initialConfig.connectionTimeout)
  if (live !== null) {
    await live.start()
    // before the server closes, not after: it would wait for every open stream first
    fastify.addHook('preClose', async () => await live.close())
  }
  const lister = new Lister(realRoot, symlinks, showHidden)
  const listings = new ListingRoute(lister, mount, {
    compress: settings.compress,
    compressThreshold: settings.compressThreshold,
    compressing,
    dirsFirst: settings.dirsFirst,
    downloads: settings.archives !== false,
    ...(live === null ? {} : { live: live.scriptName }),
    ...(uploads === null ? {} : { uploads: { allows: (segments) => uploads.allows(segments), hidden: showHidden } })
  })
  const login = settings.auth === false ? null : new Login(settings.auth, '/' + encodePath(mount))
  const archives = new ArchiveRoute(new Walker(realRoot, symlinks, showHidden), settings.archives, mount, realRoot)
  fastify.addHook('onClose', async () => lister.close())

  // A child context keeps our error handler away from the host app. A miss is the host's to
  // answer: its 404 handler (ours in the app, `serveDir.notFoundHandler`) makes the page.
  await fastify.register(async function serveDirRoutes (child: FastifyInstance) {
    // @fastify/static, for `reply.sendFile` here only: the host's replies are left as they are
    await files.install(child)
    // every answer of ours is what its Content-Type says, never sniffed into something else (a
    // miss handed to the host is the host's: the header goes, with the file's)
    child.addHook('onRequest', (_req, reply, done) => {
      reply.header('x-content-type-options', 'nosniff')
      done()
    })
    if (login !== null) {
      // before anything else: nothing of the folder is told to whoever has not logged in
      child.addHook('onRequest', async (req, reply) => await login.check(req, reply))
    }
    child.setErrorHandler(function (this: unknown, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
      return isMiss(err) ? handOverMiss(req, reply, err) : errorHandler.call(this, err, req, reply)
    })

    async function handler (req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
      const d = decide(req.raw.url as string, req.headers.accept, where)
      switch (d.kind) {
        case 'bad': throw new BadPathError(d.reason)
        case 'not-found': throw new NotFoundError()
        case 'redirect':
          // the length said outright, so that HEAD shows what GET does
          return reply.code(301).headers({ location: d.location, 'content-length': '0' }).send()
        case 'file':
        case 'index':
          if (uploads !== null) markUploaded(req, reply)
          return await sendFile(req, reply, d.path, d.stat)
        case 'spa':
          // the page or a 404 depends on Accept: caches must know
          return await sendFile(req, addVary(reply, 'Accept'), d.path, d.stat)
        case 'archive':
          return await archives.send(req, reply, d.folder, d.asked)
        case 'listing':
          return await listings.send(req, reply, d.folder)
      }
    }

    /** A file, with live reload's script when it is a page a browser navigates to. */
    async function sendFile (req: FastifyRequest, reply: FastifyReply, file: string, stat: Stats): Promise<FastifyReply> {
      // pages sent as downloads (downloadHtml) never run here, and sandboxed ones (under an upload
      // path) could not listen: neither gets the script
      if (live !== null && !settings.downloadHtml && (reply as unknown as Record<symbol, boolean>)[kSandbox] !== true &&
          live.wants(req, reply, typeOf(file))) {
        const sent = await files.sendInjected(req, reply, file, stat, live.tag)
        if (sent !== null) return sent
      }
      return await files.send(req, reply, file, stat)
    }

    /** Whether the URL lies under an upload path: its active files get {@link SANDBOX}. */
    function markUploaded (req: FastifyRequest, reply: FastifyReply): void {
      const parsed = parseRequestUrl(req.raw.url as string, mount)
      if (parsed.kind === 'target' && uploads?.allows(parsed.target.segments) === true) (reply as unknown as Record<symbol, boolean>)[kSandbox] = true
    }

    if (uploads !== null) {
      // bodies are the upload's to read, as they arrive: none is parsed or buffered first
      child.removeAllContentTypeParsers()
      child.addContentTypeParser('*', (_req, _payload, done) => { done(null) })
      child.addHook('onSend', async (_req, reply, payload) => {
        if ((reply as unknown as Record<symbol, boolean>)[kSandbox] === true &&
            ACTIVE_TYPE.test(String(reply.getHeader('content-type')))) reply.header('content-security-policy', SANDBOX)
        return payload
      })
    }

    /** An upload's answer; a refusal closes the connection, so that whatever is left of its body is never read. */
    function writer (write: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) {
      return async function upload (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
        try {
          return await write(req, reply)
        } catch (err) {
          if (req.raw.httpVersionMajor === 1) reply.header('connection', 'close')
          throw err
        }
      }
    }

    if (settings.cors !== false) {
      // loaded only when asked for: a server without CORS starts without it
      await child.register(require('@fastify/cors') as typeof import('@fastify/cors'), {
        // '*' for any; a list (even of one) so that a matching origin is echoed with Vary: Origin
        origin: settings.cors === true ? '*' : ([] as string[]).concat(settings.cors),
        methods: ['GET', 'HEAD'],
        exposedHeaders: [
          'ETag',
          'Last-Modified',
          'Content-Range',
          'Content-Length',
          'Content-Encoding',
          'Accept-Ranges',
          'Content-Disposition'
        ],
        maxAge: 600
      })
    }
    const extraHeaders = Object.entries(settings.headers)
    if (extraHeaders.length > 0) {
      // added to successful answers (2xx, 304), never over one the server set itself
      child.addHook('onSend', async (_req, reply, payload) => {
        if (reply.statusCode < 400 && reply.statusCode !== 301) {
          for (const [k, v] of extraHeaders) if (!reply.hasHeader(k)) reply.header(k, v)
        }
        return payload
      })
    }
    // onRequest, so that a request body is never parsed (or waited for) before the 405
    // (with CORS on, OPTIONS is @fastify/cors's: its hook answers preflights before any route).
    // The methods are those the server knows when the plugin is registered: the app teaches it
    // all of Node's (WebDAV's PROPFIND, PURGE, ...); a host's table is the host's own.
    const otherMethods = settings.methodNotAllowed
      ? child.supportedMethods.filter(
        (m) => m !== 'GET' && m !== 'HEAD' && (m !== 'OPTIONS' || settings.cors === false) &&
          (uploads === null || (m !== 'PUT' && m !== 'POST'))
      )
      : []
    // below an enclosing prefix, '/' is that prefix with and without its slash (the slash-less one 301s)
    const routes = prefixSegments.length > 0
      ? [displayPath(prefixSegments).slice(0, -1), displayPath(prefixSegments) + '*']
      : mount.length > 0 ? ['/', '/*'] : ['/*']
    ListingRoute.installAssets(child, prefixSegments, mount)
    live?.install(child, prefixSegments)
    for (const url of routes) {
      child.route({ method: ['GET', 'HEAD'], url, handler })
      if (uploads !== null) {
        child.route({ method: 'PUT', url, handler: writer(async (req, reply) => await uploads.put(req, reply)) })
        child.route({ method: 'POST', url, handler: writer(async (req, reply) => await uploads.post(req, reply)) })
      }
      if (otherMethods.length > 0) child.route({ method: otherMethods, url, onRequest: refuseMethod, handler: refuseMethod })
    }
  })
}

async function refuseMethod (req: FastifyRequest, reply: FastifyReply): Promise<never> {
  reply.header('allow', ALLOWED_METHODS)
  throw new MethodNotAllowedError(req.method)
}
