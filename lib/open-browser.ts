// `--open [PATH]`: the served URL in the desktop's browser, as `xdg-open` (Linux, BSD) or `open`
// (macOS) opens it: spawned with an argument list, never through a shell, so no character of the
// URL can become a command. Not the `open` package: it is an ES module only, which this CommonJS
// command cannot require on Node 20.
import { spawn, type ChildProcess } from 'node:child_process'

/** What decides whether and how a browser is opened: the platform, its environment, a terminal. */
export interface Desktop {
  platform: NodeJS.Platform
  env: NodeJS.ProcessEnv
  /** A person is at the terminal that started the command. */
  terminal: boolean
}

/**
 * The program and arguments that open `url`, or why nothing is opened: no terminal (a script or a
 * service started it), or a Linux without a display (a server, an SSH session).
 */
export function opener (url: string, desktop: Desktop): { command: string, args: string[] } | { none: string } {
  if (!desktop.terminal) return { none: 'not started from a terminal' }
  if (desktop.platform === 'darwin') return { command: 'open', args: [url] }
  if (desktop.platform === 'win32') return { none: 'Windows is not supported' }
  if (desktop.env.DISPLAY === undefined && desktop.env.WAYLAND_DISPLAY === undefined) return { none: 'no display' }
  return { command: 'xdg-open', args: [url] }
}

/** Opens `url` as {@link opener} says; says on `stderr` why not, or that the opener failed. */
export function openBrowser (url: string, desktop: Desktop, stderr: { write: (s: string) => unknown }): ChildProcess | undefined {
  const how = opener(url, desktop)
  if ('none' in how) {
    stderr.write(`--open: no browser opened (${how.none}); open ${url}\n`)
    return undefined
  }
  const child = spawn(how.command, how.args, { stdio: 'ignore', detached: true, env: desktop.env })
  child.once('error', (err) => { stderr.write(`--open: ${how.command} failed (${err.message}); open ${url}\n`) })
  child.unref()
  return child
}
