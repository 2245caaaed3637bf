// A generated corpus of hostile request targets, over a raw socket, against the whole app:
// no byte from outside the root, no 5xx, no redirect off-site, and the server still serving.
// Bounded: a fixed corpus (about 6,000 targets), always sent whole (a busy machine takes longer,
// and must not test less), each request bounded by rawRequest's own hang bound; the time is reported.
import t from 'tap'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { build, rawRequest } from '../helper'

const SECRET = 'OUTSIDE-THE-ROOT'

const dots = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae%e0%80%ae', '%ef%bc%8e%ef%bc%8e', '.%00.', '..;', '...', '%u002e%u002e']
const seps = ['/', '%2f', '%2F', '\\', '%5c', '%5C', '//', '%252f', '%c0%af', '/./']
const targets = ['secret.txt', 'www-secret/secret.txt', 'etc/passwd', 'www-secret/', 'link-out', 'link-out-dir/secret.txt', '.env', '.git/config']

function corpus (): string[] {
  const out = new Set<string>()
  for (const dot of dots) {
    for (const sep of seps) {
      for (let depth = 1; depth <= 3; depth++) {
        for (const target of targets) {
          const climb = Array.from({ length: depth }, () => dot).join(sep)
          out.add('/' + climb + sep + target)
          out.add('/sub' + sep + climb + sep + target)
        }
      }
    }
  }
  for (const extra of [
    '/' + 'a'.repeat(300), '/' + 'a/'.repeat(2000), '/' + 'x'.repeat(5000) + '/../secret.txt',
    '/C:/Windows/win.ini', '/C:%5CWindows%5Cwin.ini', '/c:\\..\\secret.txt', '/%00', '/a.txt%00.html', '/a.txt%00',
    'http://evil.example/../secret.txt', 'http://127.0.0.1/../secret.txt', '//evil.example', '//evil.example/',
    '/\\evil.example', '/%5cevil.example', '///evil.example//', '/%2f%2fevil.example', '*', '/?../../secret.txt',
    '/sub/..%2f..%2fsecret.txt#', '/%ff%fe', '/%', '/%%32%65', '/sub%00/../../secret.txt', '/link-root/etc/passwd'
  ]) out.add(extra)
  return [...out]
}

t.test('hostile request targets', async (t) => {
  const dir = t.testdir({
    'secret.txt': SECRET,
    'www-secret': { 'secret.txt': SECRET },
    www: {
      'a.txt': 'PUBLIC',
      sub: { 'b.txt': 'B' },
      'evil.example': {},
      '.env': SECRET,
      '.git': { config: SECRET },
      'link-out': t.fixture('symlink', '../www-secret/secret.txt'),
      'link-out-dir': t.fixture('symlink', '../www-secret'),
      'link-root': t.fixture('symlink', '/')
    }
  })
  const app = await build(t, ['--root', path.join(dir, 'www')])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const targets = corpus()
  t.ok(targets.length > 5000, `${targets.length} targets`)
  const began = Date.now()
  const bad: string[] = []
  const statuses = new Map<number, number>()
  let answered = 0
  for (const target of targets) {
    const res = await rawRequest(port, target)
    if (Number.isFinite(res.statusCode)) answered++
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    const location = res.headers.location
    if (res.statusCode >= 500 || Number.isNaN(res.statusCode)) bad.push(`${target}: ${res.statusCode}`)
    if (res.body.includes(SECRET) || res.body.includes('root:x:0')) bad.push(`${target}: leaked`)
    if (location !== undefined && (location.startsWith('/') || location.includes('//'))) bad.push(`${target}: Location ${location}`)
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))} in ${Date.now() - began} ms`)
  // no time budget: the corpus always runs whole; a hang fails at rawRequest's bound or tap's timeout
  t.equal(answered, targets.length, 'every target of the whole corpus was answered')
  t.same(bad, [], 'no 5xx, no leak, no off-site redirect')
  t.equal((await rawRequest(port, '/a.txt')).body, 'PUBLIC', 'still serving')
})
