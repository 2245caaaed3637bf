import t from 'tap'
import { entryHref, renderHtml, renderJson, sortEntries, type Entry } from '../../lib/serve-dir/listing'

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
})

t.test('renderHtml escapes every name and title', async (t) => {
  const html = renderHtml('/<b>&"x/', false, [file('<img src=x onerror=alert(1)>.txt', 5), dir('quote"x'), file("it's")])
  t.match(html, '<title>Directory listing for /&lt;b&gt;&amp;&quot;x/</title>')
  t.match(html, '<h1>Directory listing for /&lt;b&gt;&amp;&quot;x/</h1>')
  t.match(html, '<a href="%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt">&lt;img src=x onerror=alert(1)&gt;.txt</a>')
  t.match(html, '<a href="quote%22x/">quote&quot;x/</a>')
  t.match(html, '<a href="it&#39;s">it&#39;s</a>')
  t.notMatch(html, '<img')
  t.match(html, '<td class="size">5</td>')
  t.match(html, `<time datetime="${mtime.toISOString()}">2026-01-02 03:04</time>`)
  t.match(html, '<a href="../">../</a>')
  t.match(html, 'color-scheme:light dark')
})

t.test('renderHtml has no parent link at the top', async (t) => {
  t.notMatch(renderHtml('/', true, []), '../')
})

t.test('renderJson has the documented shape', async (t) => {
  t.same(JSON.parse(renderJson('/a/', [dir('d'), file('f g', 3)])), {
    path: '/a/',
    total: 2,
    offset: 0,
    limit: null,
    prev: null,
    next: null,
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
