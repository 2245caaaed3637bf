// For the bench scripts: our command started on port 0, and what a process costs, from /proc.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** serve-dir (of `project`, built) on port 0 with `args` (node's own `nodeArgs` first): its first line, Python's "Serving HTTP on ... port N", says which port it got. */
export async function startServer (args, nodeArgs = [], project = path.join(here, '..'), stderr = 'inherit') {
  const child = spawn(process.execPath, [...nodeArgs, path.join(project, 'dist', 'bin', 'serve-dir.js'), '0', ...args], { stdio: ['ignore', 'pipe', stderr] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const deadline = Date.now() + 20000
  while (!out.includes('\n')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('serve-dir did not start (npm run build:ts first)')
    await sleep(20)
  }
  return { child, port: Number(/ port (\d+) /.exec(out)[1]) }
}

/** Resident memory of process `pid`, in MiB. */
export const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
/** Open descriptors of process `pid`. */
export const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length
