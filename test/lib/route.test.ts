// decide(): what a URL means, over one table, against a real folder.
import t from 'tap'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { decide, type Decision, type Where } from '../../lib/serve-dir/route'

t.test('decide() says what each URL means', async (t) => {
  const root = t.testdir({
    'a.txt': 'a',
    '.secret': 's',
    d: { 'x.txt': 'x' },
    site: { 'index.htm': 'i' },
    both: { 'index.html': 'h', 'index.htm': 'i' },
    fake: { 'index.html': {} },
    out: t.fixture('symlink', '../outside'),
    in: t.fixture('symlink', 'd/x.txt')
  })
  execFileSync('mkfifo', [path.join(root, 'pipe')])
  const base: Where = { realRoot: root, mount: [], symlinks: 'inside', showHidden: false, index: ['index.html', 'index.htm'], listing: true, spa: null }
  /** A decision as [kind, the file or folder it names relative to root, or its reason or location]. */
  const summary = (d: Decision): [string, string?] => {
    switch (d.kind) {
      case 'bad': return [d.kind, d.reason]
      case 'not-found': return [d.kind]
      case 'redirect': return [d.kind, d.location]
      case 'archive': return [d.kind, path.relative(root, d.folder.dir) + ' ' + d.asked.join(',')]
      case 'listing': return [d.kind, path.relative(root, d.folder.dir) + ' ' + d.folder.search]
      default: return [d.kind, path.relative(root, d.path)]
    }
  }
  const cases: Array<[string, Partial<Where>, string | undefined, [string, string?]]> = [
    ['/a.txt', {}, undefined, ['file', 'a.txt']],
    ['/a.txt/', {}, undefined, ['not-found']],
    ['/nope', {}, undefined, ['not-found']],
    ['/%zz', {}, undefined, ['bad', 'malformed percent-encoding']],
    ['/d', {}, undefined, ['redirect', 'd/']], // relative: right behind any proxy's prefix
    ['/d?sort=size', {}, undefined, ['redirect', 'd/?sort=size']],
    ['/d/', {}, undefined, ['listing', 'd ']],
    ['/d/?q=x', {}, undefined, ['listing', 'd ?q=x']],
    ['/d/?download=zip', {}, undefined, ['archive', 'd zip']],
    ['/d/?downloa%64=tar.gz', {}, undefined, ['archive', 'd tar.gz']],
    ['/site/', {}, undefined, ['index', 'site/index.htm']],
    ['/both/', {}, undefined, ['index', 'both/index.html']],
    ['/both/', { index: [] }, undefined, ['listing', 'both ']],
    ['/fake/', {}, undefined, ['listing', 'fake ']],
    ['/d/', { listing: false }, undefined, ['not-found']],
    ['/.secret', {}, undefined, ['not-found']],
    ['/.secret', { showHidden: true }, undefined, ['file', '.secret']],
    ['/out', {}, undefined, ['not-found']],
    ['/in', {}, undefined, ['file', 'd/x.txt']],
    ['/in', { symlinks: 'deny' }, undefined, ['not-found']],
    ['/pipe', {}, undefined, ['not-found']],
    ['/files/a.txt', { mount: ['files'] }, undefined, ['file', 'a.txt']],
    ['/files/d', { mount: ['files'] }, undefined, ['redirect', 'd/']],
    ['/a.txt', { mount: ['files'] }, undefined, ['not-found']],
    ['/some/route', { spa: ['a.txt'] }, 'text/html', ['spa', 'a.txt']],
    ['/some/route', { spa: ['a.txt'] }, 'application/json', ['not-found']],
    ['/missing.js', { spa: ['a.txt'] }, 'text/html', ['not-found']],
    ['/d/', { spa: ['a.txt'] }, 'text/html', ['spa', 'a.txt']],
    ['/some/route', { spa: ['gone.html'] }, 'text/html', ['not-found']]
  ]
  for (const [url, over, accept, expected] of cases) {
    t.same(summary(decide(url, accept, { ...base, ...over })), expected, `${url} ${JSON.stringify(over)} ${accept ?? ''}`)
  }
})
