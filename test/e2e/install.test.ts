// The command as an installed program: `npm link` (or a global install) puts a link to
// dist/bin/serve-dir.js on the PATH, which the shell runs through its #! line.
import t from 'tap'
import { statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { HELP } from '../../lib/cli-args'
import { PATIENCE, built } from '../helper'

t.test('the build leaves the commands executable: a linked serve-dir survives a rebuild', async (t) => {
  // npm test has just rebuilt dist/ from nothing, as `npm run build:ts` does
  for (const name of ['serve-dir.js', 'workers.js']) {
    const file = built('bin', name)
    t.equal(statSync(file).mode & 0o111, 0o111, `${name} is executable`)
  }
  // run as a shell runs a command on the PATH: the file itself, not `node file`
  const r = spawnSync(built('bin', 'serve-dir.js'), ['--help'], { encoding: 'utf8', timeout: PATIENCE })
  t.equal(r.error, undefined)
  t.equal(r.status, 0)
  t.equal(r.stdout, HELP)
})
