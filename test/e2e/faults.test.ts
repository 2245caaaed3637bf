// Faults a long-running server meets: out of file descriptors, files that change under it.
// The server runs from the built dist/ under a low `ulimit -n`, as a separate process.
import t from 'tap'
import path from 'node:path'
import net from 'node:net'
import { once } from 'node:events'
import { readdirSync, writeFileSync } from 'node:fs'
import { ProjectRoot, rawRequest, startServing, waitFor } from '../helper'

t.test('file-descriptor exhaustion: 503s, then service again, never a crash', async (t) => {
  const LIMIT = 64
  const FREE = 4 // descriptors left for files once all are accepted: one or two downloads' worth
  const dir = t.testdir({ 'a.txt': 'a' })
  writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(32 * 1024 * 1024)) // streamed from disk: one descriptor each
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  const bin = path.join(ProjectRoot, 'dist', 'bin', 'serve-dir.js')
  const { child, port, stdout, stderr } = await startServing(t, 'sh', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" "${bin}" 0 -d "${dir}" -l warn`], { env })
  t.ok(port > 0, `started: ${stdout()}${stderr()}`)

  // Every connection is accepted before any request is sent, so that the descriptors run out on
  // opening files (logged, and a 503) and not on accepting a socket, which Node's libuv turns away
  // without a word; when requests and accepts interleave, either can come first.
  const held = (): number => readdirSync(`/proc/${child.pid}/fd`).length
  const idle = held()
  // slow downloads (never read) hold a socket and a file each, until the limit is reached
  const downloads: net.Socket[] = []
  t.teardown(() => { for (const s of downloads) s.destroy() })
  for (let i = idle; i < LIMIT - FREE; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.pause()
    downloads.push(s)
  }
  t.ok(downloads.length > FREE, `${downloads.length} downloads, with ${idle} descriptors held by the idle server`)
  await waitFor('every download\'s connection to be accepted', () => held() === LIMIT - FREE)
  for (const s of downloads) s.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor('the server to run out of descriptors', () => stderr().includes('EMFILE'))
  // which downloads it could not open a file for is the server's race (a descriptor it could not
  // use is given back at once): each answer's head says, the first read of each
  const heads = await Promise.all(downloads.map(async (s) => {
    s.resume()
    const [chunk] = await once(s, 'data') as [Buffer]
    s.destroy()
    return chunk.toString('latin1', 0, 512)
  }))
  const refused = heads.filter((h) => h.startsWith('HTTP/1.1 503 Service Unavailable\r\n'))
  t.ok(refused.length > 0, `out of descriptors: 503 (${refused.length} of ${heads.length})`)
  t.ok(refused.every((h) => /\r\nretry-after: 1\r\n/i.test(h)), 'each with Retry-After')
  t.ok(heads.every((h) => /^HTTP\/1\.1 (200|503) /.test(h)), 'the others served')

  await waitFor('service again', async () => (await rawRequest(port, '/a.txt').catch(() => null))?.body === 'a')
  t.pass('served again once they are released')
  t.equal(child.exitCode, null, 'still running')
})
