// The package's public types as a user's CommonJS TypeScript project sees them ("type": "commonjs",
// `module: nodenext`): 'fastify-serve-dir' resolves by name, to dist/, through package.json's
// "exports" (a package may import itself by its own name), so run `npm run build:ts` first.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import { describe, expect, test } from 'tstyche'
import serveDir, {
  InvalidOptionError, InvalidRootError, notFoundHandler, hashPassword, redactToken, userOf,
  type Entry, type JsonListing, type ServeDirOptions, type SymlinkPolicy, type UploadOptions, type AuthOptions,
  type LiveReloadOptions
} from 'fastify-serve-dir'

const root = '/srv/www'
const options = (opts: ServeDirOptions): ServeDirOptions => opts

describe('ServeDirOptions', () => {
  test('has the documented options, each with its type; only root is required', () => {
    expect<keyof ServeDirOptions>().type.toBe<
      'root' | 'prefix' | 'index' | 'listing' | 'dotfiles' | 'symlinks' | 'maxAge' | 'immutable' | 'compress' |
      'precompressed' | 'compressThreshold' | 'compressSlots' | 'compressSlotsPerClient' | 'cacheBytes' |
      'downloadHtml' | 'dirsFirst' | 'methodNotAllowed' |
      'headers' | 'cors' | 'spa' | 'archives' | 'uploads' | 'auth' | 'liveReload'
    >()
    expect<Pick<ServeDirOptions, 'root'>>().type.toBe<{ root: string }>()
    expect<Required<ServeDirOptions>>().type.toBe<{
      root: string
      prefix: string
      index: string[] | false
      listing: boolean
      dotfiles: 'ignore' | 'allow'
      symlinks: 'inside' | 'follow' | 'deny'
      maxAge: number
      immutable: boolean
      compress: boolean
      precompressed: boolean
      compressThreshold: number
      compressSlots: number
      compressSlotsPerClient: number
      cacheBytes: number
      downloadHtml: boolean
      dirsFirst: boolean
      methodNotAllowed: boolean
      headers: Record<string, string>
      cors: boolean | string | string[]
      spa: boolean | string
      archives: boolean | { maxBytes?: number, maxEntries?: number, maxDepth?: number }
      uploads: boolean | UploadOptions
      auth: false | AuthOptions
      liveReload: boolean | LiveReloadOptions
    }>()
  })

  test('accepts each option with a value of its type', () => {
    expect(options).type.toBeCallableWith({ root })
    expect(options).type.toBeCallableWith({
      root,
      prefix: '/files',
      index: ['index.html', 'default.htm'],
      listing: false,
      dotfiles: 'allow',
      symlinks: 'deny',
      maxAge: 3600,
      immutable: true,
      compress: false,
      precompressed: false,
      compressThreshold: 2048,
      cacheBytes: 0,
      downloadHtml: true,
      dirsFirst: true,
      methodNotAllowed: true,
      headers: { 'X-Frame-Options': 'DENY' },
      cors: ['https://a.example', 'https://b.example'],
      spa: 'app.html',
      archives: { maxBytes: 1024 ** 3 }
    })
    expect(options).type.toBeCallableWith({ root, index: false, symlinks: 'follow', cors: true, spa: true })
    expect(options).type.toBeCallableWith({ root, archives: false })
    expect(options).type.toBeCallableWith({ root, uploads: { paths: ['/inbox'], overwrite: 'rename', maxBytes: 1e9 } })
    expect(options).type.toBeCallableWith({ root, auth: { users: 'bob:$2y$...', publicRead: true } })
    expect(options).type.toBeCallableWith({ root, auth: { users: { bob: '$scrypt$...' }, token: 'a'.repeat(22), maxFailures: 10 } })
    expect(options).type.toBeCallableWith({ root, dotfiles: 'ignore', symlinks: 'inside', cors: 'https://a.example' })
    expect(options).type.toBeCallableWith({ root, archives: { maxEntries: 10, maxBytes: 0 } })
    expect(options).type.toBeCallableWith({ root, liveReload: true })
    expect(options).type.toBeCallableWith({ root, liveReload: { ignore: ['dist/**'], debounceMs: 50, allowedHosts: ['dev.test'] } })
  })

  test('rejects a value of the wrong type', () => {
    expect(options).type.not.toBeCallableWith({ root: 42 })
    expect(options).type.not.toBeCallableWith({ root, prefix: ['/files'] })
    expect(options).type.not.toBeCallableWith({ root, index: 'index.html' })
    expect(options).type.not.toBeCallableWith({ root, index: true })
    expect(options).type.not.toBeCallableWith({ root, listing: 'yes' })
    expect(options).type.not.toBeCallableWith({ root, dotfiles: 'deny' })
    expect(options).type.not.toBeCallableWith({ root, symlinks: 'never' })
    expect(options).type.not.toBeCallableWith({ root, maxAge: '1h' })
    expect(options).type.not.toBeCallableWith({ root, immutable: 1 })
    expect(options).type.not.toBeCallableWith({ root, compress: 'br' })
    expect(options).type.not.toBeCallableWith({ root, precompressed: ['br'] })
    expect(options).type.not.toBeCallableWith({ root, compressThreshold: '1k' })
    expect(options).type.not.toBeCallableWith({ root, cacheBytes: false })
    expect(options).type.not.toBeCallableWith({ root, downloadHtml: 'html' })
    expect(options).type.not.toBeCallableWith({ root, dirsFirst: 1 })
    expect(options).type.not.toBeCallableWith({ root, methodNotAllowed: 405 })
    expect(options).type.not.toBeCallableWith({ root, headers: { 'X-Count': 1 } })
    expect(options).type.not.toBeCallableWith({ root, headers: [['X-A', 'b']] })
    expect(options).type.not.toBeCallableWith({ root, cors: [true] })
    expect(options).type.not.toBeCallableWith({ root, liveReload: 'on' })
    expect(options).type.not.toBeCallableWith({ root, liveReload: { ignore: 'dist/**' } })
    expect(options).type.not.toBeCallableWith({ root, liveReload: { debounceMs: '150' } })
    expect(options).type.not.toBeCallableWith({ root, spa: ['index.html'] })
    expect(options).type.not.toBeCallableWith({ root, archives: 'zip' })
    expect(options).type.not.toBeCallableWith({ root, uploads: { overwrite: 'sometimes' } })
    expect(options).type.not.toBeCallableWith({ root, auth: true })
    expect(options).type.not.toBeCallableWith({ root, auth: { users: ['bob:x'] } })
    expect(options).type.not.toBeCallableWith({ root, archives: { maxBytes: '4G' } })
  })

  test('rejects unknown options, a misspelt one too', () => {
    expect(options).type.not.toBeCallableWith({ root, bogus: true })
    expect(options).type.not.toBeCallableWith({ root, maxage: 3600 })
    expect(options).type.not.toBeCallableWith({ root, archives: { maxFiles: 10 } })
  })

  test('requires root', () => {
    expect(options).type.not.toBeCallableWith({})
    expect(options).type.not.toBeCallableWith({ prefix: '/files' })
    expect(options).type.not.toBeCallableWith({ root: undefined })
  })
})

describe('the error classes', () => {
  test('are made with new and the two strings of their message', () => {
    expect(InvalidOptionError).type.toBeConstructableWith('root', 'is required')
    expect(InvalidRootError).type.toBeConstructableWith('/srv/www', 'no such directory')
    expect(InvalidOptionError).type.not.toBeConstructableWith('root', 42)
    expect(InvalidRootError).type.not.toBeConstructableWith('/srv/www', 'a', 'b')
  })

  test('make Errors with a code', () => {
    expect(new InvalidOptionError('root', 'is required')).type.toBeAssignableTo<Error>()
    expect(new InvalidRootError('/srv/www', 'not a directory')).type.toBeAssignableTo<FastifyError>()
    expect(new InvalidOptionError('root', 'is required').code).type.toBe<string>()
    expect(new InvalidRootError('/srv/www', 'not a directory').code).type.toBe<string>()
  })

  test('narrow what ready() rejects with, with instanceof', () => {
    Fastify().register(serveDir, { root }).ready((err) => {
      if (err instanceof InvalidOptionError || err instanceof InvalidRootError) {
        expect(err).type.toBeAssignableTo<Error>()
        expect(err.code).type.toBe<string>()
        expect(err.statusCode).type.toBe<number | undefined>()
      }
    })
  })
})

describe('notFoundHandler', () => {
  test('is a handler for setNotFoundHandler(), also in a scope', () => {
    const app = Fastify()
    expect(app.setNotFoundHandler).type.toBeCallableWith(notFoundHandler)
    // as the README writes it: on the default import, and on the named serveDir
    expect(app.setNotFoundHandler).type.toBeCallableWith(serveDir.notFoundHandler)
    expect(serveDir.serveDir.notFoundHandler).type.toBe(notFoundHandler)
    expect(serveDir.default.InvalidOptionError).type.toBe(InvalidOptionError)
    // on any server Fastify makes: HTTP/2 (over TLS or not) too
    expect(Fastify({ http2: true }).setNotFoundHandler).type.toBeCallableWith(notFoundHandler)
    expect(Fastify({ http2: true, https: { allowHTTP1: true } }).setNotFoundHandler).type.toBeCallableWith(notFoundHandler)
    expect(Fastify({ https: {} }).setNotFoundHandler).type.toBeCallableWith(notFoundHandler)
    app.register(async (scope: FastifyInstance) => {
      expect(scope.setNotFoundHandler).type.toBeCallableWith(notFoundHandler)
    }, { prefix: '/files' })
  })
})

describe('the login helpers', () => {
  test('hashPassword makes a hash for auth.users; redactToken and userOf serve a host\'s logs', () => {
    expect(hashPassword('pw')).type.toBe<Promise<string>>()
    expect(redactToken('/a?token=x')).type.toBe<string>()
    expect(serveDir.userOf).type.toBe(userOf)
    expect(userOf).type.toBeCallableWith({} as import('fastify').FastifyRequest)
    expect(userOf({} as import('fastify').FastifyRequest)).type.toBe<string | undefined>()
  })
})

describe('register', () => {
  test('takes the plugin with root, with or without prefix', () => {
    const app = Fastify()
    expect(serveDir).type.toBeAssignableTo<FastifyPluginAsync<ServeDirOptions>>()
    expect(app.register).type.toBeCallableWith(serveDir, { root })
    expect(app.register).type.toBeCallableWith(serveDir, { root, prefix: '/files' })
    expect(app.register).type.toBeCallableWith(serveDir, { root, prefix: '/files', logLevel: 'warn', maxAge: 60 })
    expect(app.register).type.toBeCallableWith(serveDir, (parent: FastifyInstance) => ({ root, prefix: parent.prefix }))
    expect(app.register(serveDir, { root })).type.toBeAssignableTo<PromiseLike<undefined>>()
  })

  test('checks the options as ServeDirOptions does', () => {
    const app = Fastify()
    expect(app.register).type.not.toBeCallableWith(serveDir)
    expect(app.register).type.not.toBeCallableWith(serveDir, {})
    expect(app.register).type.not.toBeCallableWith(serveDir, { root, bogus: true })
    expect(app.register).type.not.toBeCallableWith(serveDir, { root, symlinks: 'never' })
  })

  test('takes it in an encapsulated scope with a route prefix', () => {
    const app = Fastify()
    expect(app.register).type.toBeCallableWith(async (scope: FastifyInstance) => {
      expect(scope.register).type.toBeCallableWith(serveDir, { root })
      expect(scope.register).type.toBeCallableWith(serveDir, { root, prefix: '/docs' })
      await scope.register(serveDir, { root })
    }, { prefix: '/files' })
  })
})

describe('the exported types', () => {
  test('SymlinkPolicy is the symlinks option', () => {
    expect<SymlinkPolicy>().type.toBe<'inside' | 'follow' | 'deny'>()
    expect<ServeDirOptions['symlinks']>().type.toBe<SymlinkPolicy | undefined>()
  })

  test('Entry is a folder entry', () => {
    expect<Entry>().type.toBe<{ name: string, type: 'file' | 'directory', size: number | null, mtime: Date }>()
  })

  test('JsonListing is the JSON listing, as the README documents it', () => {
    expect<JsonListing>().type.toBe<{
      path: string
      total: number
      offset: number
      limit: number | null
      prev: string | null
      next: string | null
      entries: Array<{ name: string, type: 'file' | 'directory', size: number | null, mtime: string, href: string }>
    }>()
  })
})
