#!/usr/bin/env node
// npm start and npm run start:workers: build only when dist/ is missing or older than a source
// (a start that rebuilds takes seconds; one that does not, none). Usage: build-if-stale.mjs [PROJECT]
import { readdirSync, statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const project = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

function newest (dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(full))
    else if (/\.(ts|css|js)$/.test(e.name)) t = Math.max(t, statSync(full).mtimeMs)
  }
  return t
}

const sources = Math.max(
  ...['app.ts', 'tsconfig.json', 'package.json'].map((f) => statSync(path.join(project, f)).mtimeMs),
  ...['bin', 'lib', 'plugins', 'routes', 'examples'].map((d) => newest(path.join(project, d)))
)
const built = statSync(path.join(project, 'dist', 'app.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0
if (built < sources) {
  // (POSIX only, as npm start's script is)
  const r = spawnSync('npm', ['run', 'build:ts'], { cwd: project, stdio: 'inherit' })
  /* c8 ignore next */ // a failed build: tsc has said why; npm start stops here
  if (r.status !== 0) process.exit(1)
}
