// Why a server could not start, in one line a user can act on: the command's and npm start's.

interface StartError extends NodeJS.ErrnoException {
  address?: string
  port?: number
  hostname?: string
}

/**
 * The line for a start failure the user can fix (a bad option or root, a busy port, an address this
 * machine does not have), or `undefined` for anything else, which deserves its whole stack.
 * `host` and `port` are what was asked for, when the caller knows.
 */
export function startError (err: unknown, host?: string, port?: number | string): string | undefined {
  const e = err as StartError | null
  const code = typeof e?.code === 'string' ? e.code : ''
  if (code.startsWith('FST_SERVE_DIR_')) return (e as Error).message
  if (code === 'EADDRINUSE') return `port ${port ?? e?.port} on ${host ?? e?.address} is already in use`
  if (code === 'EADDRNOTAVAIL' ||
      code === 'ENOTFOUND') return `cannot bind to ${host ?? e?.address ?? e?.hostname}: no such address on this machine`
  return undefined
}
