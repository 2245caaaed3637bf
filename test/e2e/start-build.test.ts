// npm start builds only when dist/ is out of date: scripts/build-if-stale.mjs, run on a copy of the
// project (so that the dist/ the other tests use is never rebuilt under them).
import t from 'tap'
import path from 'node:path'
import { cpSync, existsSync, statSync, symlinkSync, utimesSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { PATIENCE, ProjectRoot } from '../helper'

const SCRIPT = path.join(ProjectRoot, 'scripts', 'build-if-stale.mjs')

function run (project: string): number | null {
  return spawnSync(process.execPath, [SCRIPT, project], { stdio: 'ignore', timeout: PATIENCE }).status
}

t.test('no dist/: built; a fresh dist/: left alone; a source edited since: built again', async (t) => {
  const copy = t.testdir({})
  for (const f of ['package.json', 'tsconfig.json', 'app.ts', 'bin', 'lib', 'plugins', 'routes', 'examples']) cpSync(path.join(ProjectRoot, f), path.join(copy, f), { recursive: true })
  symlinkSync(path.join(ProjectRoot, 'node_modules'), path.join(copy, 'node_modules'))
  const app = path.join(copy, 'dist', 'app.js')
  t.equal(run(copy), 0)
  t.ok(existsSync(app), 'a fresh clone (no dist/) is built')
  // the copied sources are newer than the copied dist/: date them a second before its build
  const built0 = statSync(app).mtimeMs
  const when = new Date(built0 - 1000)
  for (const f of ['package.json', 'tsconfig.json', 'app.ts']) utimesSync(path.join(copy, f), when, when)
  for (const d of ['bin', 'lib', 'plugins', 'routes', 'examples']) {
    spawnSync('find', [path.join(copy, d), '-exec', 'touch', '-d', when.toISOString(), '{}', '+'])
  }
  t.equal(run(copy), 0)
  t.equal(statSync(app).mtimeMs, built0, 'up to date: not built')

  const edited = new Date(built0 + 60_000)
  utimesSync(path.join(copy, 'lib', 'server.ts'), edited, edited)
  t.equal(run(copy), 0)
  t.not(statSync(app).mtimeMs, built0, 'a source newer than dist/: built again')
  t.equal(statSync(path.join(copy, 'dist', 'bin', 'serve-dir.js')).mode & 0o111, 0o111, 'by npm run build:ts, commands executable')
  t.ok(existsSync(path.join(copy, 'dist', 'lib', 'serve-dir', 'listing', 'assets', 'listing.css')), 'and the listing\'s assets copied')

  // the listing's stylesheet and script are sources too: tsc does not see them, build:ts copies them
  const built1 = statSync(app).mtimeMs
  const restyled = new Date(built1 + 60_000)
  utimesSync(path.join(copy, 'lib', 'serve-dir', 'listing', 'assets', 'listing.css'), restyled, restyled)
  t.equal(run(copy), 0)
  t.not(statSync(app).mtimeMs, built1, 'a stylesheet newer than dist/: built again')
})
