// npm start builds only when dist/ is out of date (scripts/build-if-stale.mjs). Its tests run it on
// a copy of the project, so that the dist/ the other tests use is never rebuilt under them; each
// test file makes one build at most (tsc takes seconds, more on a busy machine).
import type { Test } from 'tap'
import path from 'node:path'
import { cpSync, statSync, symlinkSync, utimesSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { PATIENCE, ProjectRoot } from '../helper'

const SCRIPT = path.join(ProjectRoot, 'scripts', 'build-if-stale.mjs')
const SOURCES = ['package.json', 'tsconfig.json', 'app.ts', 'bin', 'lib', 'plugins', 'routes', 'examples']

/** A copy of the project's sources (and of its built dist/ with `withDist`), its node_modules linked. */
export function projectCopy (t: Test, withDist: boolean): string {
  const copy = t.testdir({})
  for (const f of [...SOURCES, ...(withDist ? ['dist'] : [])]) cpSync(path.join(ProjectRoot, f), path.join(copy, f), { recursive: true })
  symlinkSync(path.join(ProjectRoot, 'node_modules'), path.join(copy, 'node_modules'))
  if (withDist) {
    // copied sources are as new as the copied dist/: date them a second before its build
    const when = new Date(statSync(appOf(copy)).mtimeMs - 1000)
    for (const f of SOURCES) spawnSync('find', [path.join(copy, f), '-exec', 'touch', '-h', '-d', when.toISOString(), '{}', '+'])
  }
  return copy
}

/** The built app of a copy. */
export const appOf = (copy: string): string => path.join(copy, 'dist', 'app.js')

/**
 * Runs build-if-stale on a copy: its exit code. A build is no quick start: tsc takes 5 s idle, and
 * took over a minute with the machine loaded 17 deep; its bound is four times PATIENCE.
 */
export function buildIfStale (copy: string): number | null {
  return spawnSync(process.execPath, [SCRIPT, copy], { stdio: 'ignore', timeout: 4 * PATIENCE }).status
}

/** Dates one file of a copy a minute after its dist/ was built. */
export function editAfterBuild (copy: string, ...segments: string[]): void {
  const edited = new Date(statSync(appOf(copy)).mtimeMs + 60_000)
  utimesSync(path.join(copy, ...segments), edited, edited)
}
