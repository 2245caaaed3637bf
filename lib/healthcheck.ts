// The Docker image's HEALTHCHECK: asks a running serve-dir for /.serve-dir/health at the port,
// address and scheme of its own command line, so `docker run IMAGE 9000 --tls-cert ...` is checked
// where it listens, not at a port written into the Dockerfile.
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { readFileSync, readdirSync } from 'node:fs'
import { parseCli } from './cli-args'

/** The arguments a process gave serve-dir (what follows `.../serve-dir.js`), or `undefined` if it is no serve-dir. */
export function serverArguments (cmdline: string): string[] | undefined {
  const argv = cmdline.split('\0').slice(0, -1)
  const at = argv.findIndex((a) => path.basename(a) === 'serve-dir.js')
  return at === -1 ? undefined : argv.slice(at + 1)
}

/**
 * The serve-dir arguments of process `pid`, or of the first serve-dir under `proc` (PID 1, or the
 * child docker's --init started).
 */
export function findServer (proc = '/proc', pid?: string): string[] | undefined {
  const pids = pid === undefined ? ['1', ...readdirSync(proc).filter((p) => /^\d+$/.test(p) && p !== '1')] : [pid]
  for (const p of pids) {
    let cmdline: string
    try {
      cmdline = readFileSync(path.join(proc, p, 'cmdline'), 'utf8')
    } catch {
      continue // gone since the folder was read, or not ours to read
    }
    const args = serverArguments(cmdline)
    if (args !== undefined) return args
  }
  return undefined
}

/** Where the server started with `args` answers its health check. */
export function healthUrl (args: string[]): URL {
  const opts = parseCli(args)
  if (opts === null) throw new Error('serve-dir --help serves nothing')
  // an unspecified address is reached on the loopback of its family
  const host = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host === '::' ? '::1' : opts.host
  return new URL(`${opts.tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${opts.port}/.serve-dir/health`)
}

/** Whether `url` answers 200 within `timeoutMs` (its certificate is not checked: it is our own server). */
export async function healthy (url: URL, timeoutMs: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const get = url.protocol === 'https:' ? https.get : http.get
    const req = get(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

/** The check as a process: exit 0 if the server (process `pid`, or found in /proc) is healthy, else 1. */
export async function main (pid?: string): Promise<number> {
  const args = findServer('/proc', pid)
  if (args === undefined) {
    process.stderr.write('serve-dir healthcheck: no serve-dir process found\n')
    return 1
  }
  return (await healthy(healthUrl(args), 3000)) ? 0 : 1
}
