// npm start after an edit: a fresh dist/ is left alone, a TypeScript source newer than it is built again.
import t from 'tap'
import { statSync } from 'node:fs'
import { appOf, buildIfStale, editAfterBuild, projectCopy } from './project-copy'

t.test('a fresh dist/: left alone; a source edited since: built again', async (t) => {
  const copy = projectCopy(t, true)
  const built = statSync(appOf(copy)).mtimeMs
  t.equal(buildIfStale(copy), 0)
  t.equal(statSync(appOf(copy)).mtimeMs, built, 'up to date: not built')
  editAfterBuild(copy, 'lib', 'server.ts')
  t.equal(buildIfStale(copy), 0)
  t.not(statSync(appOf(copy)).mtimeMs, built, 'a source newer than dist/: built again')
})
