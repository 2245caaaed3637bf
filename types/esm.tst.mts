// An ES module's imports: the default is the plugin with the rest on it, as `require()` gives it
// (Node takes an ES module's default import of CommonJS from `module.exports`); the named ones too.
import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import serveDir, {
  serveDir as named, InvalidOptionError, InvalidRootError, notFoundHandler,
  type Entry, type JsonListing, type ServeDirOptions, type SymlinkPolicy
} from 'fastify-serve-dir'

const root = '/srv/www'

test('the default import and the named serveDir are the plugin', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(serveDir, { root })
  expect(app.register).type.toBeCallableWith(named, { root, prefix: '/files' })
  expect(app.register).type.not.toBeCallableWith(named, { root, bogus: true })
  expect(app.register).type.not.toBeCallableWith(serveDir, { prefix: '/files' })
  expect(serveDir.default).type.toBe(named)
  expect(serveDir.serveDir).type.toBe(named)
})

test('the rest is on the default import and named', () => {
  const app = Fastify()
  expect(serveDir.InvalidOptionError).type.toBe(InvalidOptionError)
  expect(serveDir.InvalidRootError).type.toBe(InvalidRootError)
  expect(serveDir.notFoundHandler).type.toBe(notFoundHandler)
  expect(app.setNotFoundHandler).type.toBeCallableWith(serveDir.notFoundHandler)
  expect(InvalidRootError).type.toBeConstructableWith('/srv/www', 'no such directory')
  expect(new InvalidOptionError('root', 'is required')).type.toBeAssignableTo<Error>()
})

test('the types, named and on the namespace', () => {
  expect<serveDir.ServeDirOptions>().type.toBe<ServeDirOptions>()
  expect<serveDir.Entry>().type.toBe<Entry>()
  expect<serveDir.JsonListing>().type.toBe<JsonListing>()
  expect<serveDir.SymlinkPolicy>().type.toBe<SymlinkPolicy>()
  expect<ServeDirOptions>().type.not.toBeAssignableFrom({ root, dotfiles: 'hide' as const })
})
