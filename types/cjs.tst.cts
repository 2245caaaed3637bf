// A CommonJS module's `require()`: the plugin itself, with the rest on it (`export =`).
import { fastify } from 'fastify'
import { expect, test } from 'tstyche'
import serveDir = require('fastify-serve-dir')

const root = '/srv/www'

test('import = require() gives the plugin, with default, serveDir and the rest on it', () => {
  const app = fastify()
  expect(app.register).type.toBeCallableWith(serveDir, { root })
  expect(app.register).type.toBeCallableWith(serveDir.default, { root, prefix: '/files' })
  expect(app.register).type.toBeCallableWith(serveDir.serveDir, { root })
  expect(app.register).type.not.toBeCallableWith(serveDir, { root, bogus: true })
  expect(serveDir.default).type.toBe(serveDir.serveDir)
  expect(serveDir).type.toBeAssignableTo(serveDir.default)
  expect(app.setNotFoundHandler).type.toBeCallableWith(serveDir.notFoundHandler)
  expect(serveDir.InvalidOptionError).type.toBeConstructableWith('root', 'is required')
  expect(new serveDir.InvalidRootError('/srv/www', 'not a directory').code).type.toBe<string>()
})

test('the types are on its namespace', () => {
  expect<serveDir.ServeDirOptions>().type.toBeAssignableFrom({ root, symlinks: 'deny' as const })
  expect<serveDir.SymlinkPolicy>().type.toBe<'inside' | 'follow' | 'deny'>()
  expect<serveDir.Entry['type']>().type.toBe<'file' | 'directory'>()
  expect<serveDir.JsonListing['entries'][number]['href']>().type.toBe<string>()
})
