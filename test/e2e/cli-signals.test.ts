// serve-dir as a process, stopped the ways people stop it: Ctrl-C, SIGTERM, a second signal, the
// grace period for downloads under way. Each waits for the event it needs, never for a time.
import t, { type Test } from 'tap'
import path from 'node:path'
import net from 'node:net'
import { once } from 'node:events'
import { truncateSync, writeFileSync } from 'node:fs'
import { accepts, exitOf, rawRequest, startCommand, waitFor, type Serving } from '../helper'

/** A folder with a 256 MiB file (sparse: no disk used), more than the socket buffers hold. */
function bigFolder (t: Test): string {
  const dir = t.testdir({})
  writeFileSync(path.join(dir, 'big.bin'), '')
  truncateSync(path.join(dir, 'big.bin'), 256 * 1024 * 1024)
  return dir
}

/** A download under way that its client has stopped reading: the response cannot finish. */
async function heldDownload (t: Test, port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect(port, host)
  t.teardown(() => { socket.destroy() })
  socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(socket, 'data')
  socket.pause()
  return socket
}

/** Waits until the server refuses new connections: it has taken the signal and is closing. */
async function closing (s: Serving, host = '127.0.0.1'): Promise<void> {
  await waitFor('the server to stop taking connections', async () => !(await accepts(s.port, host)))
}

/** Reads from a held download again: it still flows, so the process has not cut it. */
async function stillFlowing (socket: net.Socket): Promise<void> {
  socket.resume()
  await once(socket, 'data')
  socket.pause()
}

t.test('SIGTERM exits 0; -P logs through pino-pretty until the end', async (t) => {
  const dir = bigFolder(t)
  writeFileSync(path.join(dir, 'a.txt'), 'a')
  const s = await startCommand(t, ['0', '-d', dir, '-P', '--grace', '0.2'])
  t.equal((await rawRequest(s.port, '/a.txt')).body, 'a')
  await waitFor('a request line', () => s.stderr().includes('request completed'))
  t.match(s.stderr(), /INFO.*request completed/)
  await heldDownload(t, s.port)
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child), 0)
  t.match(s.stderr(), /INFO.*waiting up to 0\.2 s for 1 connection\(s\) to finish/, 'what shutdown waits for, in pino\'s lines')
  t.notMatch(s.stdout(), 'Keyboard interrupt', 'said for Ctrl-C only')
})

t.test('--grace: a download that outlasts it is cut, and the process exits 0', async (t) => {
  const s = await startCommand(t, ['0', '-d', bigFolder(t), '--grace', '0.3', '--log-format', 'python'])
  await heldDownload(t, s.port)
  const began = Date.now()
  s.child.kill('SIGTERM')
  t.equal(await exitOf(s.child), 0)
  t.ok(Date.now() - began >= 250, 'waited for the grace period')
  t.match(s.stderr(), 'waiting up to 0.3 s for 1 connection(s) to finish; press Ctrl-C again to stop now\n', 'said at once, in a plain line')
  t.match(s.stderr(), 'grace period over: closing the 1 connection(s) still open\n')
})

t.test('a second signal while a download holds the close exits at once', async (t) => {
  // a grace period no test reaches: the only way out is the second signal
  const s = await startCommand(t, ['0', '-d', bigFolder(t), '--grace', '600', '--log-format', 'python'])
  const download = await heldDownload(t, s.port)
  s.child.kill('SIGINT')
  await closing(s)
  await stillFlowing(download)
  t.equal(s.child.exitCode, null, 'the first signal waits for the download')
  t.match(s.stdout(), 'Keyboard interrupt received, exiting.')
  s.child.kill('SIGINT')
  t.equal(await exitOf(s.child), 130, 'the shell\'s status for death by SIGINT')
  t.match(s.stderr(), 'exiting now: 1 connection(s) cut\n', 'the cut download is said')
})

t.test('Ctrl-C with live reload streams open exits at once, without waiting for --grace', async (t) => {
  const dir = t.testdir({ 'index.html': '<body></body>' })
  const s = await startCommand(t, ['0', '-d', dir, '--live-reload', '--grace', '600', '--log-format', 'python'])
  const streams = await Promise.all([1, 2].map(async () => {
    const socket = net.connect(s.port, '127.0.0.1')
    t.teardown(() => { socket.destroy() })
    socket.write('GET /.serve-dir/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await once(socket, 'data')
    return socket
  }))
  s.child.kill('SIGINT')
  // a grace of 600 s no test outlives: an exit at all says the streams did not hold the close
  t.equal(await exitOf(s.child), 0, 'one signal: the streams ended, nothing was left to wait for')
  t.notMatch(s.stderr(), 'grace period over', 'nothing was cut')
  for (const socket of streams) t.equal(socket.readableEnded || socket.destroyed, true, 'each stream ended')
})
