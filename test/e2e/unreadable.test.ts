// EACCES cannot happen to root, so the server runs here as an unprivileged user (nobody when the
// tests run as root) from the built dist/, outside coverage: lib/serve-dir/fs/lookup.ts fences the
// branches this test proves.
import t from 'tap'
import path from 'node:path'
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { PATIENCE, ProjectRoot, rawRequest, startServing } from '../helper'

const asRoot = process.getuid?.() === 0
const user = asRoot ? { uid: 65534, gid: 65534 } : {}

t.test('unreadable files and folders are 403; everyone else is still served', async (t) => {
  // under /tmp so that the unprivileged user can reach it
  const root = mkdtempSync(path.join(tmpdir(), 'serve-dir-perm-'))
  t.teardown(() => {
    for (const p of ['secret.txt', 'locked', 'noexec']) chmodSync(path.join(root, p), 0o755)
    rmSync(root, { recursive: true, force: true })
  })
  chmodSync(root, 0o755)
  writeFileSync(path.join(root, 'ok.txt'), 'ok')
  writeFileSync(path.join(root, 'secret.txt'), 'SECRET')
  mkdirSync(path.join(root, 'locked'))
  writeFileSync(path.join(root, 'locked', 'x.txt'), 'SECRET')
  mkdirSync(path.join(root, 'noexec'))
  writeFileSync(path.join(root, 'noexec', 'y.txt'), 'SECRET')
  chmodSync(path.join(root, 'secret.txt'), 0o000)
  chmodSync(path.join(root, 'locked'), 0o000)
  chmodSync(path.join(root, 'noexec'), 0o644)

  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' }
  delete env.NODE_V8_COVERAGE
  const { port, stdout } = await startServing(t, process.execPath, [path.join(ProjectRoot, 'dist', 'bin', 'serve-dir.js'), '0', '-d', root], { ...user, env })
  t.ok(port > 0, stdout())

  for (const target of ['/secret.txt', '/locked/', '/locked/x.txt', '/noexec/', '/noexec/y.txt']) {
    const res = await rawRequest(port, target)
    t.equal(res.statusCode, 403, target)
    t.notMatch(res.body, 'SECRET', target)
    t.notOk(res.headers.etag, `${target}: no validators of a file we did not send`)
  }
  t.equal((await rawRequest(port, '/locked')).statusCode, 301, 'the folder itself is visible, as in a shell')
  t.equal((await rawRequest(port, '/ok.txt')).body, 'ok')
  const list = await rawRequest(port, '/')
  t.equal(list.statusCode, 200)
  t.match(list.body, 'ok.txt')

  // folder downloads leave out what cannot be read, and stay whole archives
  const tgz = await new Promise<Buffer>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/?download=tar.gz' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(PATIENCE, () => req.destroy(new Error('no answer to the tar.gz download')))
  })
  const names = execFileSync('tar', ['-tzf', '-'], { input: tgz, encoding: 'utf8' }).split('\n').filter(Boolean).sort()
  t.same(names, ['ok.txt'], 'a whole tar.gz of what can be read')
  t.equal((await rawRequest(port, '/noexec/?download=zip')).statusCode, 403, 'a folder that cannot be entered: 403, as its listing')
})
