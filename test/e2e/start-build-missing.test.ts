// npm start on a fresh clone (no dist/): built first, by npm run build:ts.
import t from 'tap'
import path from 'node:path'
import { existsSync, statSync } from 'node:fs'
import { appOf, buildIfStale, projectCopy } from './project-copy'

t.test('no dist/: built, commands executable, the assets copied', async (t) => {
  const copy = projectCopy(t, false)
  t.equal(buildIfStale(copy), 0)
  t.ok(existsSync(appOf(copy)), 'a fresh clone (no dist/) is built')
  t.equal(statSync(path.join(copy, 'dist', 'bin', 'serve-dir.js')).mode & 0o111, 0o111, 'by npm run build:ts, commands executable')
  t.ok(existsSync(path.join(copy, 'dist', 'lib', 'serve-dir', 'listing', 'assets', 'listing.css')), 'and the listing\'s assets copied')
})
