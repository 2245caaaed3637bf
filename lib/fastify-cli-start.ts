// npm start preloads this (`fastify start -r ./dist/lib/fastify-cli-start.js ...`) so that a start
// that fails for a reason the user can fix (a bad option or root, a busy port, an address this
// machine does not have) says it in one line, `serve-dir: error: ...`, and exits 1, as the serve-dir
// command does. fastify-cli leaves such a failure as an unhandled rejection: Node's stack trace
// when the app is registered, close-with-grace's JSON log line when it listens. Every other
// rejection, then or later, goes on as if this were not here.
import { startError } from './start-error'

process.on('unhandledRejection', (reason) => {
  const line = startError(reason)
  if (line === undefined) throw reason
  process.stderr.write(`serve-dir: error: ${line}\n`)
  process.exit(1)
})
