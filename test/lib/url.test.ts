import t from 'tap'
import path from 'node:path'
import { directoryLocation, displayPath, encodePath, isHidden, isInside, parseRequestUrl, prefixToSegments } from '../../lib/serve-dir/url'

t.test('parseRequestUrl decodes once and splits into segments', async (t) => {
  const cases: Array<[string, string[], boolean, string]> = [
    ['/', [], true, ''],
    ['/a/b.txt', ['a', 'b.txt'], false, ''],
    ['/a/b/', ['a', 'b'], true, ''],
    ['//a//b//', ['a', 'b'], true, ''],
    ['/dir?x=1&y=%2F', ['dir'], false, '?x=1&y=%2F'],
    ['/?', [], true, '?'],
    ['/a.txt#frag', ['a.txt'], false, ''],
    ['/d/?q=1#frag?x', ['d'], true, '?q=1'],
    ['/caf%C3%A9.txt', ['café.txt'], false, ''],
    ['/100%25.txt', ['100%.txt'], false, ''],
    ['/a%23b.txt', ['a#b.txt'], false, ''],
    ['/q%3F.txt', ['q?.txt'], false, ''],
    ['/back%5Cslash.txt', ['back\\slash.txt'], false, ''],
    ['/back\\slash.txt', ['back\\slash.txt'], false, ''],
    ['/...', ['...'], false, ''],
    ['/..a', ['..a'], false, '']
  ]
  for (const [url, segments, trailingSlash, search] of cases) {
    t.same(parseRequestUrl(url, []), { kind: 'target', target: { segments, trailingSlash, search } }, url)
  }
})

t.test('parseRequestUrl refuses what no name below the root can be', async (t) => {
  const cases: Array<[string, string]> = [
    ['/%zz', 'malformed percent-encoding'],
    ['/%E0%A4%A', 'malformed percent-encoding'],
    ['/%ED%A0%80', 'malformed percent-encoding'], // a lone surrogate
    ['/..', 'dot segment'],
    ['/a/../../etc/passwd', 'dot segment'],
    ['/%2e%2e/x', 'dot segment'],
    ['/%2E%2E', 'dot segment'],
    ['/.%2e/', 'dot segment'],
    ['/./a', 'dot segment'],
    ['/a/%2e', 'dot segment'],
    ['/..%2fetc%2fpasswd', 'encoded slash'],
    ['/a%2Fb', 'encoded slash'],
    ['/a%00.txt', 'NUL byte']
  ]
  for (const [url, reason] of cases) {
    t.same(parseRequestUrl(url, []), { kind: 'bad', reason }, url)
  }
})

t.test('on Windows a backslash or colon is path syntax and refused', async (t) => {
  t.same(parseRequestUrl('/..%5Cwin.ini', [], true), { kind: 'bad', reason: 'backslash or colon' })
  t.same(parseRequestUrl('/C:', [], true), { kind: 'bad', reason: 'backslash or colon' })
  t.equal(parseRequestUrl('/ok.txt', [], true).kind, 'target')
})

t.test('parseRequestUrl strips the mount prefix by decoded segments', async (t) => {
  t.same(parseRequestUrl('/files/a', ['files']), { kind: 'target', target: { segments: ['a'], trailingSlash: false, search: '' } })
  t.same(parseRequestUrl('/files', ['files']), { kind: 'target', target: { segments: [], trailingSlash: false, search: '' } })
  t.same(parseRequestUrl('/%66iles/', ['files']), { kind: 'target', target: { segments: [], trailingSlash: true, search: '' } })
  t.same(parseRequestUrl('/other/a', ['files']), { kind: 'outside' })
  t.same(parseRequestUrl('/', ['files']), { kind: 'outside' })
})

t.test('prefixToSegments, isHidden, encodePath, displayPath', async (t) => {
  t.same(prefixToSegments('/'), [])
  t.same(prefixToSegments('/a/b/'), ['a', 'b'])
  t.equal(isHidden(['a', '.git', 'config']), true)
  t.equal(isHidden(['a', 'b.c']), false)
  t.equal(encodePath(['a b', 'x/y', '#?%\\']), 'a%20b/x%2Fy/%23%3F%25%5C')
  t.equal(encodePath(["it's (1)!*"]), 'it%27s%20%281%29%21%2A')
  t.equal(directoryLocation(["it's"], ''), 'it%27s/')
  t.equal(displayPath([]), '/')
  t.equal(displayPath(['a', 'b c']), '/a/b c/')
})

t.test('directoryLocation is relative, never starts with /, and keeps the query', async (t) => {
  t.equal(directoryLocation([], ''), './')
  t.equal(directoryLocation(['dir'], '?x=1'), 'dir/?x=1')
  t.equal(directoryLocation(['evil.example'], ''), 'evil.example/')
  t.equal(directoryLocation(['\\evil.example'], ''), '%5Cevil.example/')
  t.equal(directoryLocation(['a b', 'ü'], '?q'), '%C3%BC/?q')
  t.equal(directoryLocation(['http:', 'x'], ''), 'x/')
  t.equal(directoryLocation(['javascript:alert(1)'], ''), 'javascript%3Aalert%281%29/', 'a colon never makes a scheme')
  for (const segs of [['', 'x'], ['/', 'x'], ['\\'], ['//x']]) {
    const loc = directoryLocation(segs, '')
    t.notOk(loc.startsWith('/'), loc)
  }
})

t.test('isInside compares paths, not string prefixes', async (t) => {
  t.equal(isInside('/srv/www', '/srv/www'), true)
  t.equal(isInside('/srv/www', '/srv/www/a/b'), true)
  t.equal(isInside('/srv/www', '/srv/www/..a'), true)
  t.equal(isInside('/srv/www', '/srv/www-secret/a'), false)
  t.equal(isInside('/srv/www', '/srv'), false)
  t.equal(isInside('/srv/www', '/etc/passwd'), false)
  t.equal(isInside('/srv/www', path.join('/srv/www', '..', 'x')), false)
})
