// What a file-system error means to a client, decided once: for the lookup (nothing there), the
// lister (a folder gone) and the error page (a file that changed between the lookup and its open).

/** Each error a client may cause or meet, as the status and message of its answer. */
const ANSWERS: Record<string, readonly [number, string]> = {
  EACCES: [403, 'Permission denied'],
  EPERM: [403, 'Permission denied'],
  // nothing servable there: missing, below a file, a loop of links, a name too long, a folder for a file
  ENOENT: [404, 'Not found'],
  ENOTDIR: [404, 'Not found'],
  EISDIR: [404, 'Not found'],
  ELOOP: [404, 'Not found'],
  ENAMETOOLONG: [404, 'Not found'],
  // out of file descriptors: a moment later, when other downloads have finished, it will work
  EMFILE: [503, 'Too many open files; try again shortly'],
  ENFILE: [503, 'Too many open files; try again shortly']
}

/** The status and message for a file-system error, or `undefined` for one that is a fault of ours (a 500). */
export function answerTo (err: unknown): readonly [number, string] | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return typeof code === 'string' && Object.hasOwn(ANSWERS, code) ? ANSWERS[code] : undefined
}

/** Whether an error means "nothing is there" (a 404): gone, never there, or not what was looked for. */
export function isGone (err: unknown): boolean {
  return answerTo(err)?.[0] === 404
}
