import t from 'tap'
import { breadcrumbs, entryHref, humanSize, kindOf, matches, renderHtml, renderJson, sortEntries, sortView, textEntry, viewQuery, type Entry, type View } from '../../lib/serve-dir/listing/render'

const mtime = new Date('2026-01-02T03:04:05.678Z')
const file = (name: string, size = 1): Entry => ({ name, type: 'file', size, mtime })
const dir = (name: string): Entry => ({ name, type: 'directory', size: null, mtime })

t.test('sortEntries is Python\'s order: case-insensitive by name, by code point', async (t) => {
  const names = ['b', 'B', 'a.txt', 'A.TXT', '_x', 'Zed', '\u{1F600}', '\uE000', '10', '9', 'a']
  // computed by CPython 3.11: sorted(sorted(names), key=str.lower)
  const expected = ['10', '9', '_x', 'a', 'A.TXT', 'a.txt', 'B', 'b', 'Zed', '\uE000', '\u{1F600}']
  t.same(sortEntries(names.map((n) => file(n))).map((e) => e.name), expected)
  t.same(sortEntries([file('ab'), file('a')]).map((e) => e.name), ['a', 'ab'])
  t.same(sortEntries([]), [])
})

t.test('entryHref encodes one segment and marks folders', async (t) => {
  t.equal(entryHref(file('a b#?%.txt')), 'a%20b%23%3F%25.txt')
  t.equal(entryHref(dir('sub dir')), 'sub%20dir/')
  t.equal(entryHref(file('back\\slash.txt')), 'back%5Cslash.txt')
  t.equal(entryHref(file('😀 smile.txt')), '%F0%9F%98%80%20smile.txt')
  // as Python's urllib.parse.quote: only RFC 3986's unreserved characters stay (lftp reads hrefs raw)
  t.equal(entryHref(file("quote'.txt")), 'quote%27.txt')
  t.equal(entryHref(file("a(b)!*~-_.'")), 'a%28b%29%21%2A~-_.%27')
})

const view = (dirPath: string, isTop: boolean, over: Partial<View> = {}): View =>
  ({ dirPath, isTop, crumbs: breadcrumbs([], dirPath.split('/').filter(Boolean)), assets: '../.serve-dir/', sort: 'name', order: 'asc', q: '', limit: null, ...over })

t.test('renderHtml escapes every name and title', async (t) => {
  const html = renderHtml(view('/<b>&"x/', false), [file('<img src=x onerror=alert(1)>.txt', 5), dir('quote"x'), file("it's", 2048)])
  t.match(html, '<title>Directory listing for /&lt;b&gt;&amp;&quot;x/</title>')
  t.match(html, '<a href="./" aria-current="page">&lt;b&gt;&amp;&quot;x</a>/', 'the breadcrumb escapes its label')
  t.match(html, /<a href="%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\.txt"><svg[^>]*><use href="#i-txt"><\/use><\/svg>&lt;img src=x onerror=alert\(1\)&gt;\.txt<\/a>/)
  t.match(html, 'data-name="&lt;img src=x onerror=alert(1)&gt;.txt"')
  t.match(html, /<a href="quote%22x\/"><svg[^>]*><use href="#i-dir"><\/use><\/svg>quote&quot;x\/<\/a>/)
  t.match(html, /<a href="it%27s">.*it&#39;s<\/a>/)
  t.notMatch(html, '<img')
  t.match(html, '<td class="size" title="5 bytes">5 B</td>')
  t.match(html, '<td class="size" title="2048 bytes">2.0 KiB</td>')
  t.match(html, `<time datetime="${mtime.toISOString()}">2026-01-02 03:04</time>`)
  t.match(html, /<tr class="up"><td><a href="\.\.\/">.*\.\.\/<\/a>/)
  t.match(html, '<meta name="color-scheme" content="light dark">')
  t.match(html, '1 folder, 2 files, 2.0 KiB')
  t.notMatch(html, /<script>|<style>| style=/, 'nothing inline for a policy to block')
})

t.test('the heading spells the folder path through its breadcrumbs', async (t) => {
  const html = renderHtml(view('/files/a b/c/', false, { crumbs: breadcrumbs(['files'], ['a b', 'c']) }), [])
  const h1 = /<h1>(.*)<\/h1>/.exec(html)?.[1] as string
  t.equal(h1.replace(/<[^>]+>/g, ''), 'Directory listing for /files/a b/c/')
  t.match(h1, '<a href="../../">/files/</a><a href="../">a b</a>/<a href="./" aria-current="page">c</a>/')
  t.same(breadcrumbs([], []), [{ label: '/', href: './' }])
})

t.test('column headers sort, toggle and say so', async (t) => {
  const byName = renderHtml(view('/', true), [])
  // buttons of GET forms, not links: a mirroring client (wget -r) fetches no sorted copies
  t.match(byName, '<th scope="col" aria-sort="ascending"><form class="q"><input type="hidden" name="sort" value="name"><input type="hidden" name="order" value="desc"><button>Name</button></form></th>')
  t.match(byName, '<th scope="col" class="size" aria-sort="none"><form class="q"><input type="hidden" name="sort" value="size"><input type="hidden" name="order" value="asc"><button>Size</button></form></th>')
  t.match(byName, '<th scope="col" aria-sort="none"><form class="q"><input type="hidden" name="sort" value="mtime"><input type="hidden" name="order" value="asc"><button>Modified</button></form></th>')
  t.notMatch(byName, 'href="?sort', 'no link to a sorted copy')
  const bySize = renderHtml(view('/', true, { sort: 'size', order: 'desc', q: 'x y', limit: 5 }), [])
  t.match(bySize, 'aria-sort="descending"><form class="q"><input type="hidden" name="sort" value="size"><input type="hidden" name="order" value="asc"><input type="hidden" name="q" value="x y"><input type="hidden" name="limit" value="5"><button>Size</button></form>')
  t.match(bySize, '<input type="hidden" name="sort" value="size"><input type="hidden" name="order" value="desc">')
  t.match(bySize, '<input type="hidden" name="limit" value="5">')
  t.match(bySize, 'value="x y"')
  t.equal(viewQuery({ sort: 'name', order: 'asc', q: '', limit: null }), '?')
})

t.test('renderHtml has no parent link at the top', async (t) => {
  t.notMatch(renderHtml(view('/', true), []), 'class="up"')
})

t.test('humanSize, kinds, text lines', async (t) => {
  t.equal(humanSize(0), '0 B')
  t.equal(humanSize(1023), '1023 B')
  t.equal(humanSize(1536), '1.5 KiB')
  t.equal(humanSize(10 * 1024), '10 KiB')
  t.equal(humanSize(5 * 1024 ** 3), '5.0 GiB')
  t.equal(humanSize(3 * 1024 ** 6), '3072 PiB')
  t.equal(kindOf(dir('a.png')), 'dir')
  t.equal(kindOf(file('a.PNG')), 'img')
  t.equal(kindOf(file('.bashrc')), 'file')
  t.equal(kindOf(file('x.unknown')), 'file')
  t.equal(kindOf(file('song.mp3')), 'aud')
  t.equal(textEntry(dir('d')), 'd/\n')
  t.equal(textEntry(file('a b.txt')), 'a b.txt\n')
  t.equal(textEntry(file('new\nline\x1b[31m\x7f\x85.txt')), 'new\\x0aline\\x1b[31m\\x7f\\x85.txt\n', 'one line, no terminal control')
  t.equal(textEntry(dir('a\\b\u202egnp.exe')), 'a\\\\b\\u202egnp.exe/\n', 'backslash and bidi override escaped')
  t.equal(textEntry(file('café ☃ 日本.txt')), 'café ☃ 日本.txt\n', 'printable text as it is')
})

t.test('sortView and matches', async (t) => {
  const m = (ms: number): Date => new Date(ms)
  const es: Entry[] = [
    { name: 'b', type: 'file', size: 10, mtime: m(3) },
    { name: 'A', type: 'file', size: 30, mtime: m(1) },
    { name: 'd', type: 'directory', size: null, mtime: m(2) },
    { name: 'c', type: 'file', size: 10, mtime: m(5) }
  ]
  const names = (x: Entry[]): string[] => x.map((e) => e.name)
  t.same(names(sortView([...es], 'name', 'asc', false)), ['A', 'b', 'c', 'd'])
  t.same(names(sortView([...es], 'name', 'desc', false)), ['d', 'c', 'b', 'A'])
  t.same(names(sortView([...es], 'size', 'asc', false)), ['d', 'b', 'c', 'A'], 'folders count as smallest; ties by name')
  t.same(names(sortView([...es], 'size', 'desc', false)), ['A', 'c', 'b', 'd'])
  t.same(names(sortView([...es], 'mtime', 'asc', false)), ['A', 'd', 'b', 'c'])
  t.same(names(sortView([...es], 'mtime', 'desc', true)), ['d', 'c', 'b', 'A'], 'folders first')
  t.equal(matches('CAFÉ')('le cafe\u0301.txt'), true, 'NFD and NFC, any case')
  t.equal(matches('x')('abc'), false)
})

t.test('renderJson has the documented shape', async (t) => {
  t.same(JSON.parse(renderJson('/a/', [dir('d'), file('f g', 3)])), {
    path: '/a/',
    total: 2,
    offset: 0,
    limit: null,
    prev: null,
    next: null,
    sort: 'name',
    order: 'asc',
    q: null,
    entries: [
      { name: 'd', type: 'directory', size: null, mtime: mtime.toISOString(), href: 'd/' },
      { name: 'f g', type: 'file', size: 3, mtime: mtime.toISOString(), href: 'f%20g' }
    ]
  })
})

t.test('code point order holds whichever side the surrogate is on', async (t) => {
  t.same(sortEntries([file('\u{1F600}'), file('\uE000')]).map((e) => e.name), ['\uE000', '\u{1F600}'])
  t.same(sortEntries([file('\uE000'), file('\u{1F600}')]).map((e) => e.name), ['\uE000', '\u{1F600}'])
  t.same(sortEntries([file('\u{1F601}'), file('\u{1F600}'), file('\uFFFD'), file('\uD7FF')]).map((e) => e.name), ['\uD7FF', '\uFFFD', '\u{1F600}', '\u{1F601}'])
})

t.test('sortEntries orders a name before its extensions, either way round', async (t) => {
  t.same(sortEntries([file('ab'), file('a')]).map((e) => e.name), ['a', 'ab'])
  t.same(sortEntries([file('a'), file('ab')]).map((e) => e.name), ['a', 'ab'])
})
