// Runs a server in N processes that share one port (node:cluster), restarting any that dies.
// serve-dir --workers N uses it; so does `npm run start:workers`, around fastify-cli's `fastify start`:
//   node dist/bin/workers.js [-w N] start -o -l info dist/app.js [-- --root DIR]
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { constants } from 'node:os'
import type { AddressInfo } from 'node:net'

export interface ClusterOptions {
  workers: number
  /** The script each worker runs, and its arguments. */
  exec: string
  args: string[]
  /** Called once, when the first worker listens. */
  onListening?: (address: AddressInfo) => void
  /** Called once, with the first startup error a worker reports (`process.send({ startupError })`). */
  onStartupError?: (message: string) => void
  /** Where the primary says what happens to its workers. */
  log?: (line: string) => void
}

/**
 * The primary: forks the workers, restarts one that dies after it listened (one that dies before
 * failed to start, as the others will: then all stop and 1 is returned), and on
 * SIGINT/SIGTERM passes the signal on and exits when they have all closed (0), or at a second signal.
 * Resolves with the exit status.
 */
export function runCluster (opts: ClusterOptions): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'))
  cluster.setupPrimary({ exec: opts.exec, args: opts.args })
  let stopping = false
  let failed = 0
  let listening = false
  /** Live workers, and whether each has listened yet. */
  const started = new Map<Worker, boolean>()

  return new Promise((resolve) => {
    const fork = (): void => {
      started.set(cluster.fork(), false)
    }
    const onStartupError = opts.onStartupError ?? log
    // the first worker to fail says why; the others would only repeat it
    // (workers send nothing else: serve-dir's report why they failed; fastify-cli's send nothing)
    const firstError = (_w: Worker, message: { startupError: string }): void => {
      cluster.off('message', firstError)
      onStartupError(String(message.startupError))
    }
    cluster.on('message', firstError)
    cluster.on('listening', (w, address) => {
      started.set(w, true)
      if (listening) return
      listening = true
      opts.onListening?.({
        address: address.address,
        port: address.port,
        family: address.addressType === 6 ? 'IPv6' : 'IPv4'
      })
    })
    cluster.on('exit', (w, code, signal) => {
      const listened = started.get(w) as boolean
      started.delete(w)
      if (!stopping && !listened) {
        // it failed on its way up (port in use, bad folder): so would the next one
        stopping = true
        failed = 1
        for (const other of started.keys()) other.kill('SIGTERM')
      }
      if (stopping) {
        if (started.size === 0) resolve(failed)
        return
      }
      log(`worker ${w.process.pid} died (${signal ?? `exit ${String(code)}`}); starting another`)
      fork()
    })
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        for (const w of started.keys()) w.process.kill('SIGKILL')
        resolve(128 + constants.signals[signal])
        return
      }
      stopping = true
      for (const w of started.keys()) w.process.kill(signal)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    for (let i = 0; i < opts.workers; i++) fork()
  })
}

/** `-w N` / `--workers N`; 0 or none means one per CPU. */
export function parseWorkers (argv: string[]): { workers: number, rest: string[] } {
  const i = argv.findIndex((a) => a === '-w' || a === '--workers')
  if (i === -1) return { workers: availableParallelism(), rest: argv }
  const n = Number(argv[i + 1])
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--workers: not a number of workers: ${argv[i + 1]}`)
  return { workers: n === 0 ? availableParallelism() : n, rest: [...argv.slice(0, i), ...argv.slice(i + 2)] }
}
