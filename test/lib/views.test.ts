import t from 'tap'
import path from 'node:path'
import { readFileSync, utimesSync } from 'node:fs'
import Ajv from 'ajv'
import { ProjectRoot, serve, setup } from '../helper'

const schema = JSON.parse(readFileSync(path.join(ProjectRoot, 'schema', 'listing.schema.json'), 'utf8'))
const validate = new Ajv({ allErrors: true }).compile(schema)
const json = { accept: 'application/json' }
const T = (s: string): Date => new Date(s)

t.test('every JSON listing validates against the published schema', async (t) => {
  const a = await setup(t, { 'a b.txt': 'x', d: { 'e.txt': 'e' }, '100%.txt': '', 'q?.txt': 'q' })
  for (const url of ['/', '/d/', '/?limit=1', '/?limit=1&offset=1', '/?sort=size&order=desc', '/?q=txt', '/?format=json&q=nomatch']) {
    const body = (await a.inject({ url, headers: json })).json()
    t.ok(validate(body), `${url}: ${JSON.stringify(validate.errors)}`)
  }
  t.notOk(validate({ path: 'x', entries: [] }), 'and the schema can fail')
})

t.test('sorting on the server, in every format', async (t) => {
  const root = t.testdir({ 'b.txt': 'bb', 'A.txt': 'aaaa', 'c.log': 'c', sub: {} })
  utimesSync(path.join(root, 'b.txt'), T('2020-01-01'), T('2020-01-01'))
  utimesSync(path.join(root, 'A.txt'), T('2021-01-01'), T('2021-01-01'))
  utimesSync(path.join(root, 'c.log'), T('2019-01-01'), T('2019-01-01'))
  utimesSync(path.join(root, 'sub'), T('2022-01-01'), T('2022-01-01'))
  const a = await serve(t, root)
  const names = async (q: string): Promise<string[]> => (await a.inject({ url: '/?' + q, headers: json })).json().entries.map((e: { name: string }) => e.name)
  t.same(await names(''), ['A.txt', 'b.txt', 'c.log', 'sub'])
  t.same(await names('order=desc'), ['sub', 'c.log', 'b.txt', 'A.txt'])
  t.same(await names('sort=size'), ['sub', 'c.log', 'b.txt', 'A.txt'])
  t.same(await names('sort=size&order=desc'), ['A.txt', 'b.txt', 'c.log', 'sub'])
  t.same(await names('sort=mtime'), ['c.log', 'b.txt', 'A.txt', 'sub'])
  t.same(await names('sort=mtime&order=desc&limit=2'), ['sub', 'A.txt'])
  const text = await a.inject('/?format=text&sort=size&order=desc')
  t.equal(text.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(text.body, 'A.txt\nb.txt\nc.log\nsub/\n')
  const html = (await a.inject('/?sort=mtime&order=asc')).body
  t.ok(html.indexOf('c.log') < html.indexOf('b.txt') && html.indexOf('b.txt') < html.indexOf('A.txt'), 'the HTML rows follow the order')
  t.match(html, 'aria-sort="ascending"><form class="q"><input type="hidden" name="sort" value="mtime"><input type="hidden" name="order" value="desc"><button>Modified</button></form>')
  for (const bad of ['sort=owner', 'order=up', 'sort=name&sort=size', 'format=xml']) {
    t.equal((await a.inject('/?' + bad)).statusCode, 400, bad)
  }
})

t.test('the filter ?q=, on the server, in every format, with pages', async (t) => {
  const a = await setup(t, { 'café.md': 'c', 'CAFE\u0301-2.md': 'c', 'tea.md': 't', Coffee: {} })
  const names = async (q: string): Promise<string[]> => (await a.inject({ url: '/?' + q, headers: json })).json().entries.map((e: { name: string }) => e.name)
  t.same(await names('q=caf%C3%A9'), ['CAFE\u0301-2.md', 'café.md'], 'any case, NFC or NFD')
  const page = (await a.inject({ url: '/?q=md&limit=1', headers: json })).json()
  t.match(page, { total: 3, q: 'md', next: '?format=json&q=md&offset=1&limit=1' })
  t.equal((await a.inject('/?q=tea&format=text')).body, 'tea.md\n')
  const html = (await a.inject('/?q=co')).body
  t.match(html, 'value="co"')
  t.match(html, '1 folder, 0 files, 0 B (1 of 4 entries)')
  t.notMatch(html, 'tea.md')
})

t.test('plain text for Accept: text/plain', async (t) => {
  const a = await setup(t, { 'a b.txt': 'x', d: {} })
  const res = await a.inject({ url: '/', headers: { accept: 'text/plain' } })
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(res.body, 'a b.txt\nd/\n')
  t.match(res.headers.vary, 'Accept')
  t.equal((await a.inject({ url: '/', headers: { accept: '*/*' } })).headers['content-type'], 'text/html; charset=utf-8', 'curl\'s */* still gets HTML')
})

t.test('dirsFirst lists folders before files', async (t) => {
  const a = await setup(t, { 'a.txt': 'a', z: {}, 'b.txt': 'b', c: {} }, { dirsFirst: true })
  t.same((await a.inject({ url: '/', headers: json })).json().entries.map((e: { name: string }) => e.name), ['c', 'z', 'a.txt', 'b.txt'])
  t.equal((await a.inject('/?format=text&order=desc')).body, 'z/\nc/\nb.txt\na.txt\n')
})
