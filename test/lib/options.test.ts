import t from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import serveDir, { InvalidOptionError, InvalidRootError } from '../../lib/serve-dir'
import { OPTIONS } from '../../lib/serve-dir/options'

async function register (opts: unknown): Promise<unknown> {
  const app = Fastify()
  app.register(serveDir, opts as any)
  try {
    await app.ready()
  } catch (err) {
    return err
  } finally {
    await app.close()
  }
  return undefined
}

t.test('a bad option fails ready() with a named error', async (t) => {
  const root = t.testdir({ 'file.txt': 'x', dir: {} })
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['missing root', {}, 'FST_SERVE_DIR_INVALID_OPTION', /"root": is required/],
    ['empty root', { root: '' }, 'FST_SERVE_DIR_INVALID_OPTION', /"root": is required/],
    ['relative root', { root: 'www' }, 'FST_SERVE_DIR_INVALID_OPTION', /"root": must be an absolute path, got "www"/],
    ['missing folder', { root: path.join(root, 'nope') }, 'FST_SERVE_DIR_INVALID_ROOT', /no such directory/],
    ['a file', { root: path.join(root, 'file.txt') }, 'FST_SERVE_DIR_INVALID_ROOT', /not a directory/],
    ['below a file', { root: path.join(root, 'file.txt', 'x') }, 'FST_SERVE_DIR_INVALID_ROOT', /ENOTDIR/],
    ['dotfiles', { root, dotfiles: 'deny' }, 'FST_SERVE_DIR_INVALID_OPTION', /"dotfiles": must be one of 'ignore', 'allow', got "deny"/],
    ['symlinks', { root, symlinks: true }, 'FST_SERVE_DIR_INVALID_OPTION', /"symlinks": must be one of 'inside', 'follow', 'deny', got true/],
    ['index string', { root, index: 'index.html' }, 'FST_SERVE_DIR_INVALID_OPTION', /"index"/],
    ['index with a slash', { root, index: ['a/index.html'] }, 'FST_SERVE_DIR_INVALID_OPTION', /"index"/],
    ['index ..', { root, index: ['..'] }, 'FST_SERVE_DIR_INVALID_OPTION', /"index"/],
    ['listing', { root, listing: 'no' }, 'FST_SERVE_DIR_INVALID_OPTION', /"listing": must be a boolean/],
    ['prefix without slash', { root, prefix: 'files' }, 'FST_SERVE_DIR_INVALID_OPTION', /"prefix"/],
    ['prefix with a param', { root, prefix: '/:id' }, 'FST_SERVE_DIR_INVALID_OPTION', /"prefix"/],
    ['prefix with ..', { root, prefix: '/a/../b' }, 'FST_SERVE_DIR_INVALID_OPTION', /"prefix"/],
    ['prefix not a string', { root, prefix: 1 }, 'FST_SERVE_DIR_INVALID_OPTION', /"prefix"/],
    ['unknown option', { root, dotFiles: 'allow' }, 'FST_SERVE_DIR_INVALID_OPTION', /"dotFiles": unknown option/]
  ]
  for (const [name, opts, code, message] of cases) {
    const err = await register(opts) as { code: string, message: string }
    t.equal(err?.code, code, name)
    t.match(err?.message, message, name)
    t.ok(err instanceof (code === 'FST_SERVE_DIR_INVALID_ROOT' ? InvalidRootError : InvalidOptionError), `${name}: catchable by class`)
  }
})

t.test('good options register', async (t) => {
  const root = t.testdir({})
  t.equal(await register({ root }), undefined)
  t.equal(await register({ root, prefix: '/a/b-c_d.e~/', index: [], listing: false, dotfiles: 'allow', symlinks: 'deny', logLevel: 'warn' }), undefined)
  t.equal(await register({ root, index: false }), undefined)
})

t.test('numbers and switches are checked too', async (t) => {
  const root = t.testdir({})
  for (const [name, value] of [['maxAge', 'x'], ['maxAge', 1.5], ['maxAge', -1], ['cacheBytes', Infinity], ['compressThreshold', '1024']] as const) {
    const err = await register({ root, [name]: value }) as { code: string, message: string }
    t.equal(err?.code, 'FST_SERVE_DIR_INVALID_OPTION', `${name}: ${value}`)
    t.match(err?.message, `"${name}": must be a whole number`)
  }
  for (const name of ['immutable', 'compress', 'precompressed']) {
    const err = await register({ root, [name]: 'yes' }) as { code: string, message: string }
    t.match(err?.message, `"${name}": must be a boolean`)
  }
})

t.test("the README's option table is the option table: every option, in order, with its default", async (t) => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Options\n'))
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')))
  const rows = table.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ').slice(0, 2).map((c) => c.replace(/^\| /, '')))
  t.same(rows, Object.entries(OPTIONS).map(([name, spec]) => [`\`${name}\``, spec.shown]))
})
