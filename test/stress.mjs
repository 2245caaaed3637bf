#!/usr/bin/env node
// npm run test:stress: the whole suite (`npm test`) while CPU hogs keep every core busy, as on a
// laptop that is compiling or in a video call. The suite must pass like this too.
//
//   npm run test:stress                          # once, with four hogs
//   npm run test:stress -- --hogs 2 --runs 3     # two hogs, three times in a row; stops at the first failure
//
// Each hog is a busy loop that ends by itself after --hog-minutes (default 90), and all are
// killed when this script ends, however it ends.
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    // four: twice this project's two cores, what the suite must pass under (a laptop compiling)
    hogs: { type: 'string', default: '4' },
    'hog-minutes': { type: 'string', default: '90' }
  }
})
const count = (name) => {
  if (!/^\d{1,3}$/.test(values[name])) {
    console.error(`test:stress: --${name} takes a whole number, not '${values[name]}'`)
    process.exit(2)
  }
  return Number(values[name])
}
const runs = count('runs')
const hogMs = count('hog-minutes') * 60_000

const hogs = Array.from({ length: count('hogs') }, () =>
  spawn(process.execPath, ['-e', `const end = Date.now() + ${hogMs}; while (Date.now() < end);`], { stdio: 'ignore' }))
const stopHogs = () => { for (const h of hogs) h.kill('SIGKILL') }
process.on('exit', stopHogs)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
let status = 0
for (let run = 1; run <= runs && status === 0; run++) {
  const began = Date.now()
  console.error(`[stress] run ${run} of ${runs}: npm test with ${hogs.length} CPU hogs`)
  status = await new Promise((resolve) => spawn(npm, ['test'], { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 1)))
  console.error(`[stress] run ${run}: ${status === 0 ? 'passed' : `failed (${status})`} in ${((Date.now() - began) / 1000).toFixed(0)} s`)
}
process.exit(status)
