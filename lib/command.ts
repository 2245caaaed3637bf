// The serve-dir command (bin/serve-dir.ts runs it): Python's command line (read by cli-args.ts),
// then the very app `fastify start` runs, on one folder, with Python's first line and log lines.
import type { AddressInfo, Socket } from 'node:net'
import type { Cluster } from 'node:cluster'
import { availableParallelism, constants } from 'node:os'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../app'
import { LEVELS, OneLineLogController, PythonLogController } from './request-log'
import { HELP, USAGE, UsageError, packageVersion, parseCli, type CliOptions } from './cli-args'
import { authFor, passwordLine } from './login'
import { openBrowser } from './open-browser'
import { readTls, refusedWith, serverOptions } from './server'
import { startError } from './start-error'
import { networkAddresses, networkLines, qrLines } from './addresses'
import type { PrettyOptions } from 'pino-pretty'

/** The first line, exactly as Python prints it; IPv6 hosts are bracketed in the URL. */
export function servingLine ({ address, port }: AddressInfo, secure = false): string {
  const urlHost = address.includes(':') ? `[${address}]` : address
  return `Serving HTTP${secure ? 'S' : ''} on ${address} port ${port} (http${secure ? 's' : ''}://${urlHost}:${port}/) ...`
}

/** The server's URL on this machine: bound to every address, the loopback one (a browser opens no `0.0.0.0`). */
export function ownUrl ({ address, port }: AddressInfo, secure = false): string {
  const local = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address
  return `http${secure ? 's' : ''}://${local.includes(':') ? `[${local}]` : local}:${port}/`
}

/**
 * Python's first line on stdout, byte for byte; on a terminal, the addresses to open from another
 * device (or a hint to share) under it on stderr, where no script reading stdout meets them.
 */
function announce (io: Io, address: AddressInfo, opts: CliOptions): void {
  const secure = opts.tls !== undefined
  io.stdout.write(servingLine(address, secure) + '\n')
  if (onTerminal(io)) for (const line of networkLines(address.address, address.port, secure)) io.stderr.write(line + '\n')
  const first = networkAddresses(address.address, address.port, secure)[0]
  // the only way in with --token: said on a terminal or not
  const token = opts.plugin.auth === undefined || opts.plugin.auth === false ? undefined : opts.plugin.auth.token
  const login = token === undefined ? '' : `?token=${token}`
  if (token !== undefined) {
    io.stderr.write(`Login link (it holds the password, share it with care): ${ownUrl(address, secure)}${login}\n`)
    if (first !== undefined) io.stderr.write(`Login link for another device: ${first.url}${login}\n`)
  }
  if (opts.open !== undefined) {
    // each segment encoded: a `?` or `#` in PATH is part of a name, and keeps the token in the query
    const target = opts.open.split('/').map(encodeURIComponent).join('/').slice(1)
    // the browser inherits the opener's environment: not the password
    const { SERVE_DIR_PASSWORD: _, ...env } = io.env ?? process.env
    openBrowser(ownUrl(address, secure) + target + login, { platform: process.platform, env, terminal: onTerminal(io) }, io.stderr)
  }
  // asked for by name, so printed on a terminal or not
  if (!opts.qr) return
  if (first === undefined) io.stderr.write('--qr: no network address to show: --bind 0.0.0.0 or --bind :: shares the folder\n')
  else io.stderr.write(qrLines(first.url + login).join('\n') + '\n')
}

/** A person is watching: stderr is a terminal. */
const onTerminal = (io: Io): boolean => (io.stderr as { isTTY?: boolean }).isTTY === true

/** Where the command writes: stdout for the "Serving HTTP" line, stderr for logs and errors. */
export interface Io {
  stdout: { write: (s: string) => unknown }
  stderr: NodeJS.WritableStream
  /** Where a password is typed (`--auth`, `--hash-password`); process.stdin when not given. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean }
  /** Where $SERVE_DIR_PASSWORD is read; process.env when not given. */
  env?: NodeJS.ProcessEnv
  /** The port when none is given: Python's 8000 when not given (tests hold one of their own). */
  defaultPort?: number
}

/** Builds the very app `fastify start` runs, on one folder, and listens. */
export async function serve (opts: CliOptions, stderr: Io['stderr'] = process.stderr): Promise<FastifyInstance> {
  // Logs go to stderr; stdout carries only the "Serving HTTP" line, as Python's does.
  // python: Python's line per request; warnings and errors (more with -l debug) as dated text;
  // json / pretty: the app's own one line per request, as npm start writes it.
  const python = opts.logFormat === 'python'
  const requests = python ? new PythonLogController(stderr, opts.logLevel) : new OneLineLogController()
  const server = Fastify({
    // the command's own flags, not app.ts's options (which read npm start's environment)
    ...serverOptions({
      tls: opts.tls === undefined ? undefined : readTls(opts.tls),
      http2: opts.http2,
      logController: requests
    }),
    // one hop: the proxy that connects; its X-Forwarded-For's last entry is the address it saw, where
    // `true` would take the first, which the client writes
    trustProxy: opts.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    logger: {
      level: python && opts.logLevel === 'info' ? 'warn' : opts.logLevel,
      // json: as is; pretty: pino-pretty; python: text too, not JSON among Python's lines
      stream: opts.logFormat === 'json' ? stderr : prettyStream(stderr, python ? PYTHON_TEXT : {})
    },
    // requests the parser refuses never reach the log controller: Python's lines for them too
    ...(python
      ? {
          clientErrorHandler: refusedWith(
            (address, status, reason) => (requests as PythonLogController).refused(address, status, reason)
          )
        }
      : {})
  })
  try {
    await server.register(app, { root: opts.directory, ...opts.plugin } as never)
    await server.listen({ port: opts.port, host: opts.host })
  } catch (err) {
    // nothing of a failed start is left open (watchers, timers), also when the caller goes on
    await server.close()
    throw err
  }
  return server
}

/** How many ports past a busy default it may move on to (8001 to 8009), as Python's users would try by hand. */
const FALLBACKS = 9

/**
 * serve(); when no port was given, one process serves and a person watches (stderr is a terminal),
 * a busy port moves on to the next one up to 8009 and says so. A port given, a script or
 * `--workers` keep the one-line error and exit 1: they asked for that port, or read it back.
 */
async function serveOnFreePort (opts: CliOptions, io: Io, port = opts.port): Promise<FastifyInstance> {
  try {
    const server = await serve({ ...opts, port }, io.stderr)
    if (port !== opts.port) io.stderr.write(`Port ${opts.port} is in use, so serving on port ${port} instead.\n`)
    return server
  } catch (err) {
    const mayMove = !opts.portGiven && opts.workers === 1 && onTerminal(io)
    if (!mayMove || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port >= opts.port + FALLBACKS) throw err
  }
  return await serveOnFreePort(opts, io, port + 1)
}

/** pino-pretty writing to stderr in this thread (no worker to start), loaded with the first line. */
function prettyStream (stderr: Io['stderr'], options: PrettyOptions = {}): { write: (line: string) => unknown } {
  let pretty: NodeJS.WritableStream | undefined
  return {
    write: (line) => {
      pretty ??= (require('pino-pretty') as typeof import('pino-pretty'))({ destination: stderr, ...options })
      return pretty.write(line)
    }
  }
}

/** The python format's lines that are not requests (warnings, errors; more with -l debug): text, dated as Python's. */
const PYTHON_TEXT: PrettyOptions = {
  singleLine: true,
  colorize: false,
  ignore: 'pid,hostname',
  translateTime: 'SYS:dd/mmm/yyyy HH:MM:ss'
}

/** A running command: its server and its options; or the exit status of one that ended. */
export type Started = { server: FastifyInstance, opts: CliOptions } | { status: number }

/**
 * Everything up to serving: the command line, `--help`, usage mistakes (status 2), a start that
 * fails (one line, status 1), `--workers` (the primary returns once they have all stopped), or a
 * server listening, its first line printed.
 */
export async function start (argv: string[], io: Io = process): Promise<Started> {
  // argparse's action: said as soon as it is given, whatever else the line holds
  if (argv.includes('--version')) {
    io.stdout.write(`serve-dir ${packageVersion()}\n`)
    return { status: 0 }
  }
  let opts: CliOptions | null
  try {
    opts = parseCli(argv)
  } catch (err) {
    io.stderr.write(`${USAGE}\nserve-dir: error: ${(err as Error).message}\n`)
    return { status: 2 }
  }
  if (opts === null) {
    io.stdout.write(HELP)
    return { status: 0 }
  }
  if (opts.hashPasswordFor !== undefined || opts.login !== undefined) {
    const source = { stdin: io.stdin ?? process.stdin, stderr: io.stderr, env: io.env ?? process.env }
    try {
      if (opts.hashPasswordFor !== undefined) {
        io.stdout.write(await passwordLine(opts.hashPasswordFor, source) + '\n')
        return { status: 0 }
      }
      opts.plugin.auth = await authFor(opts.login as NonNullable<CliOptions['login']>, source)
    } catch (err) {
      if (err instanceof UsageError) io.stderr.write(`${USAGE}\nserve-dir: error: ${err.message}\n`)
      else io.stderr.write(`serve-dir: error: ${(err as Error).message}\n`)
      return { status: err instanceof UsageError ? 2 : 1 }
    }
  }
  if (!opts.portGiven && io.defaultPort !== undefined) opts.port = io.defaultPort
  // node:cluster and the primary's code load only for --workers
  const cluster = opts.workers === 1 ? undefined : require('node:cluster') as Cluster
  if (cluster?.isPrimary === true) return { status: await primary(opts, argv, io) }
  let server: FastifyInstance
  try {
    server = await serveOnFreePort(opts, io)
  } catch (err) {
    const line = `serve-dir: error: ${startError(err, opts.host, opts.port) ?? (err as Error).message}`
    // a worker tells the primary, which says it once for all of them
    if (cluster?.isWorker === true) {
      await new Promise((resolve) =>
        (process.send as NonNullable<typeof process.send>)({ startupError: line }, resolve))
    } else {
      io.stderr.write(line + '\n')
    }
    return { status: 1 }
  }
  // in a cluster the primary says it, once
  if (cluster === undefined) announce(io, server.server.address() as AddressInfo, opts)
  return { server, opts }
}

/**
 * Ctrl-C and SIGTERM: no new connections; requests under way may finish within the grace period,
 * then their connections are cut and the process exits 0. A second signal exits at once, with the
 * shell's status for death by that signal. Not close-with-grace: it exits 1 on both (and takes
 * SIGHUP, SIGQUIT and uncaught errors too), where a cut at the end of the grace is a clean stop.
 */
export function stopOnSignals (server: FastifyInstance, opts: CliOptions): void {
  // every connection, to cut at the end of the grace period: Node 20's HTTP/2 server has no
  // closeAllConnections(), and its sessions would hold the close open for good
  const sockets = new Set<Socket>()
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // what shutdown is waiting for, and what it cut: Python's format has plain lines, the others pino's
  const say = (msg: string, fields: object): void => {
    if (opts.logFormat !== 'python') server.log.info(fields, msg)
    else if (LEVELS.indexOf(opts.logLevel) <= LEVELS.indexOf('info')) process.stderr.write(msg + '\n')
  }
  let closing = false
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) {
      say(`exiting now: ${sockets.size} connection(s) cut`, { connections: sockets.size })
      process.exit(128 + constants.signals[signal])
    }
    closing = true
    // in a cluster the primary says it, once
    if (signal === 'SIGINT' && opts.workers === 1) process.stdout.write(INTERRUPTED)
    setTimeout(() => {
      say(
        `grace period over: closing the ${sockets.size} connection(s) still open`,
        { graceMs: opts.graceMs, connections: sockets.size }
      )
      for (const socket of sockets) socket.destroy()
    }, opts.graceMs).unref()
    server.close().then(() => process.exit(0), () => process.exit(1))
    // idle connections are closed at once; the others are requests under way
    setImmediate(() => {
      if (sockets.size > 0) say(`waiting up to ${opts.graceMs / 1000} s for ${sockets.size} connection(s) to finish; press Ctrl-C again to stop now`, { graceMs: opts.graceMs, connections: sockets.size })
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

/** The command as a process: exits with the status, or serves until a signal. */
export async function main (): Promise<void> {
  const started = await start(process.argv.slice(2))
  if ('status' in started) process.exit(started.status)
  else stopOnSignals(started.server, started.opts)
}

const INTERRUPTED = '\nKeyboard interrupt received, exiting.\n'

/** `--workers N`: this process only watches N copies of itself, which share the port; resolves with the exit status. */
async function primary (opts: CliOptions, argv: string[], io: Io): Promise<number> {
  const { runCluster } = require('./workers') as typeof import('./workers')
  let interrupted = false
  process.once('SIGINT', () => { interrupted = true })
  const code = await runCluster({
    workers: opts.workers === 0 ? availableParallelism() : opts.workers,
    exec: process.argv[1],
    args: argv,
    onListening: (address) => { announce(io, address, opts) },
    onStartupError: (line) => io.stderr.write(line + '\n')
  })
  if (interrupted && code === 0) io.stdout.write(INTERRUPTED)
  return code
}
