import t, { type Test } from 'tap'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import serveDir from '../../lib/serve-dir'
import { rawRequest } from '../helper'
import { attacks } from '../traversal-payloads'

const SECRET = 'TOPSECRET'

async function listen (t: Test, symlinks?: 'inside' | 'follow' | 'deny'): Promise<number> {
  const dir = t.testdir({
    'secret.txt': SECRET,
    'www-secret': { 'secret.txt': SECRET, 'index.html': SECRET },
    www: {
      'a.txt': 'PUBLIC',
      sub: { 'b.txt': 'B' },
      'evil.example': { 'x.txt': 'x' },
      '\\evil.example': { 'x.txt': 'x' },
      '.env': SECRET,
      'link-out': t.fixture('symlink', '../www-secret/secret.txt'),
      'link-out-dir': t.fixture('symlink', '../www-secret'),
      'link-root': t.fixture('symlink', '/')
    }
  })
  const app = Fastify()
  await app.register(serveDir, { root: path.join(dir, 'www'), ...(symlinks === undefined ? {} : { symlinks }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return (app.server.address() as AddressInfo).port
}

t.test('nothing outside the root is reachable over a raw socket', async (t) => {
  const port = await listen(t)
  for (const target of attacks) {
    const res = await rawRequest(port, target)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${target} → ${res.statusCode}`)
    t.notMatch(res.body, SECRET, `${target} leaks nothing`)
    t.notMatch(res.body, 'root:', `${target} is not /etc/passwd`)
  }
  // and everyone else is still served
  const ok = await rawRequest(port, '/a.txt')
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, 'PUBLIC')
})

t.test('dot segments, encoded slashes and NUL are 400 at once', async (t) => {
  const port = await listen(t)
  for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/a.txt%00.html', '/%c0%ae%c0%ae/secret.txt']) {
    t.equal((await rawRequest(port, target)).statusCode, 400, target)
  }
})

t.test('on POSIX a backslash is part of a name, never a separator', async (t) => {
  const port = await listen(t)
  const res = await rawRequest(port, '/..\\secret.txt')
  t.equal(res.statusCode, 404)
})

t.test('redirects never point off-site', async (t) => {
  const port = await listen(t)
  for (const [target, location] of [
    ['//evil.example', 'evil.example/'],
    ['///evil.example', 'evil.example/'],
    ['/\\evil.example', '%5Cevil.example/'],
    ['/%5Cevil.example', '%5Cevil.example/'],
    ['//evil.example?x=//y', 'evil.example/?x=//y']
  ]) {
    const res = await rawRequest(port, target)
    t.equal(res.statusCode, 301, target)
    t.equal(res.headers.location, location, target)
    t.notOk(res.headers.location.startsWith('/'), `${target}: Location is relative: never // or /\\`)
  }
})

t.test('symlinks: follow reaches out only when asked, deny never', async (t) => {
  const follow = await listen(t, 'follow')
  t.equal((await rawRequest(follow, '/link-out')).body, SECRET)
  t.equal((await rawRequest(follow, '/../secret.txt')).statusCode, 400, 'follow never means traversal')
  const deny = await listen(t, 'deny')
  t.equal((await rawRequest(deny, '/link-out')).statusCode, 404)
})
