// The package as a user's project sees it: installed under node_modules (a link to this clone, as
// `npm install /path/to/fastify-serve-dir` makes), imported from an ES module and from CommonJS,
// type-checked by TypeScript with `module: nodenext` as a new project has it.
import t, { type Test } from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { PATIENCE, ProjectRoot } from '../helper'

const run = promisify(execFile)
const EXAMPLE = readFileSync(path.join(ProjectRoot, 'examples', 'server.ts'), 'utf8')
const TSC = path.join(ProjectRoot, 'node_modules', 'typescript', 'bin', 'tsc')

/**
 * A user's project with the package and what it needs installed, as links. One tsc run checks it
 * all: under `nodenext`, `.mts` files are ES modules and `.cts` files CommonJS, as in two projects.
 */
function project (t: Test, files: Record<string, string>): string {
  return t.testdir({
    'package.json': JSON.stringify({ name: 'user-app', private: true, type: 'module' }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false }
    }),
    node_modules: {
      'fastify-serve-dir': t.fixture('symlink', ProjectRoot),
      fastify: t.fixture('symlink', path.join(ProjectRoot, 'node_modules', 'fastify')),
      '@types': { node: t.fixture('symlink', path.join(ProjectRoot, 'node_modules', '@types', 'node')) }
    },
    ...files
  })
}

/** Runs a script in the project with Node and returns what it printed as JSON. */
async function result (cwd: string, file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [file], { cwd, timeout: PATIENCE })
  return JSON.parse(stdout)
}

// What each kind of module gets, and that the plugin serves its folder.
const PROBE = `
  const app = Fastify()
  app.register(serveDir, { root: process.cwd(), prefix: '/w' })
  const res = await app.inject('/w/package.json')
  console.log(JSON.stringify({
    serveDir: typeof serveDir, named: named === serveDir, default: serveDir.default === serveDir,
    errors: [typeof InvalidOptionError, typeof InvalidRootError], status: res.statusCode,
    schema: schema.title
  }))
`
const EXPECTED = { serveDir: 'function', named: true, default: true, errors: ['function', 'function'], status: 200, schema: 'serve-dir folder listing' }

t.test('the README example type-checks as an ES module and as CommonJS; import and require() give the plugin itself', async (t) => {
  const cwd = project(t, {
    'server.mts': EXAMPLE,
    'server.cts': EXAMPLE,
    // the other spellings a CommonJS TypeScript project uses, and the option types
    'other.cts': `
      import serveDir = require('fastify-serve-dir')
      import { serveDir as named, type ServeDirOptions } from 'fastify-serve-dir'
      import Fastify from 'fastify'
      const options: serveDir.ServeDirOptions & ServeDirOptions = { root: '/srv/www', symlinks: 'deny' }
      Fastify().register(serveDir, options).register(named, options).register(serveDir.default, options)
      export const refused: unknown = serveDir.InvalidOptionError
    `,
    'probe.mjs': `
      import Fastify from 'fastify'
      import serveDir, { serveDir as named, InvalidOptionError, InvalidRootError } from 'fastify-serve-dir'
      import { createRequire } from 'node:module'
      const schema = createRequire(import.meta.url)('fastify-serve-dir/schema/listing.schema.json')
      ${PROBE}`,
    'probe.cjs': `
      const Fastify = require('fastify')
      const serveDir = require('fastify-serve-dir')
      const { serveDir: named, InvalidOptionError, InvalidRootError } = serveDir
      const schema = require('fastify-serve-dir/schema/listing.schema.json')
      ;(async () => { ${PROBE} })()`
  })
  const [checked, esm, cjs] = await Promise.all([
    run(process.execPath, [TSC, '-p', '.'], { cwd, timeout: PATIENCE }).catch((err: { stdout: string }) => err),
    result(cwd, 'probe.mjs'),
    result(cwd, 'probe.cjs')
  ])
  t.equal(checked.stdout, '', 'tsc -p . reports nothing')
  t.same(esm, EXPECTED, 'ES module: default and named imports')
  t.same(cjs, EXPECTED, 'CommonJS: require()')
})
