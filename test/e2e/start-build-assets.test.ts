// The listing's stylesheet and script are sources too: tsc does not see them, build:ts copies them.
import t from 'tap'
import { statSync } from 'node:fs'
import { appOf, buildIfStale, editAfterBuild, projectCopy } from './project-copy'

t.test('a stylesheet newer than dist/: built again', async (t) => {
  const copy = projectCopy(t, true)
  const built = statSync(appOf(copy)).mtimeMs
  editAfterBuild(copy, 'lib', 'serve-dir', 'listing', 'assets', 'listing.css')
  t.equal(buildIfStale(copy), 0)
  t.not(statSync(appOf(copy)).mtimeMs, built, 'built again')
})
