import t from 'tap'
import {
  cacheControl, contentRange, encodedEtag, evaluatePreconditions, ifRangeHolds, MAX_RANGES, metadataEtag,
  multipartParts, parseEtags, parseHttpDate, pickEncoding, planRanges, strongMatch, weakMatch
} from '../../lib/serve-dir/http'

const stat = { ino: 1234, size: 5000, mtimeMs: 1795597007124.567, ctimeMs: 1795597007124.567 }
const lm = Date.parse('Wed, 25 Nov 2026 08:56:47 GMT')
const v = { etag: '"abc"', lastModified: lm }
const before = 'Wed, 25 Nov 2026 08:56:46 GMT'
const same = 'Wed, 25 Nov 2026 08:56:47 GMT'
const after = 'Wed, 25 Nov 2026 08:56:48 GMT'

t.test('metadataEtag is strong, stable, and changes with any of its inputs', async (t) => {
  const tag = metadataEtag(stat)
  t.match(tag, /^"[0-9a-z-]+"$/)
  t.equal(metadataEtag({ ...stat }), tag)
  for (const change of [{ ino: 1235 }, { size: 5001 }, { mtimeMs: stat.mtimeMs + 0.001 }, { ctimeMs: stat.ctimeMs + 0.001 }]) {
    t.not(metadataEtag({ ...stat, ...change }), tag, JSON.stringify(change))
  }
  t.equal(encodedEtag('"abc"', 'br'), '"abc-br"')
})

t.test('entity-tag lists and comparisons', async (t) => {
  t.same(parseEtags('"a", W/"b",junk "c"'), ['"a"', 'W/"b"', '"c"'])
  t.same(parseEtags('*'), ['*'])
  t.same(parseEtags('nothing'), [])
  t.equal(strongMatch('"x", "abc"', '"abc"'), true)
  t.equal(strongMatch('W/"abc"', '"abc"'), false, 'a weak tag never matches strongly')
  t.equal(strongMatch('*', '"abc"'), true)
  t.equal(weakMatch('W/"abc"', '"abc"'), true)
  t.equal(weakMatch('"abc"', 'W/"abc"'), true)
  t.equal(weakMatch('"abd"', '"abc"'), false)
  t.equal(weakMatch('*', '"abc"'), true)
})

t.test('parseHttpDate', async (t) => {
  t.equal(parseHttpDate(same), lm)
  t.equal(parseHttpDate('not a date'), undefined)
  t.equal(parseHttpDate(undefined), undefined)
  // §5.6.7: the two obsolete forms mean the same instant
  t.equal(parseHttpDate('Wednesday, 25-Nov-26 08:56:47 GMT'), lm, 'RFC 850')
  t.equal(parseHttpDate('Wed Nov 25 08:56:47 2026'), lm, 'asctime')
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), Date.UTC(1994, 10, 6, 8, 49, 37), 'asctime, one-digit day')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), Date.UTC(1994, 10, 6, 8, 49, 37), 'a two-digit year far ahead is in the past')
  t.equal(parseHttpDate('Tuesday, 01-Jan-30 00:00:00 GMT'), Date.UTC(2030, 0, 1), 'a two-digit year near ahead is ahead')
  t.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2017, 0, 1), 'a leap second is the next second')
  const y99 = new Date(0)
  y99.setUTCFullYear(99, 10, 6)
  t.equal(parseHttpDate('Fri, 06 Nov 0099 00:00:00 GMT'), y99.getTime(), 'the year 99 stays 99, not 1999')
  // §5.6.7 from a later century: in 2095, "10" is 2110, not 2010
  t.intercept(Date.prototype, 'getUTCFullYear', { value: () => 2095 })
  t.equal(parseHttpDate('Friday, 01-Jan-10 00:00:00 GMT'), Date.UTC(2110, 0, 1), 'in 2095, 10 is 2110')
  t.equal(parseHttpDate('Saturday, 01-Jan-50 00:00:00 GMT'), Date.UTC(2050, 0, 1), 'in 2095, 50 is 2050')
  for (const junk of ['1', '3000', '12/31/2099', '2026-11-25T08:56:47Z', 'Wed, 25 Nov 2026 08:56:47 UTC', 'Wed, 25 Nov 2026 08:56:47 +0000',
    'Wed, 31 Feb 2026 08:56:47 GMT', 'Wed, 25 Nov 2026 24:00:00 GMT', 'Wed, 25 Nov 2026 08:60:00 GMT', 'Wed, 25 Nov 2026 08:00:61 GMT',
    'wed, 25 nov 2026 08:56:47 gmt', ' Wed, 25 Nov 2026 08:56:47 GMT']) {
    t.equal(parseHttpDate(junk), undefined, `not an HTTP-date: ${junk}`)
  }
})

t.test('evaluatePreconditions follows RFC 9110 §13.2.2 in order', async (t) => {
  const cases: Array<[Record<string, string>, 'proceed' | 304 | 412, string]> = [
    [{}, 'proceed', 'no conditions'],
    [{ 'if-match': '"abc"' }, 'proceed', 'If-Match matches'],
    [{ 'if-match': '"x", "abc"' }, 'proceed', 'If-Match list'],
    [{ 'if-match': '*' }, 'proceed', 'If-Match *'],
    [{ 'if-match': '"x"' }, 412, 'If-Match fails'],
    [{ 'if-match': 'W/"abc"' }, 412, 'If-Match compares strongly'],
    [{ 'if-match': '"abc"', 'if-unmodified-since': before }, 'proceed', 'If-Match wins over If-Unmodified-Since'],
    [{ 'if-unmodified-since': before }, 412, 'modified since'],
    [{ 'if-unmodified-since': same }, 'proceed', 'not modified since'],
    [{ 'if-unmodified-since': 'junk' }, 'proceed', 'an invalid date is ignored'],
    [{ 'if-none-match': '"abc"' }, 304, 'If-None-Match matches'],
    [{ 'if-none-match': 'W/"abc"' }, 304, 'If-None-Match compares weakly'],
    [{ 'if-none-match': '*' }, 304, 'If-None-Match *'],
    [{ 'if-none-match': '"x"' }, 'proceed', 'If-None-Match fails'],
    [{ 'if-none-match': '"x"', 'if-modified-since': after }, 'proceed', 'If-None-Match wins over If-Modified-Since'],
    [{ 'if-modified-since': same }, 304, 'not modified'],
    [{ 'if-modified-since': after }, 304, 'not modified, later date'],
    [{ 'if-modified-since': before }, 'proceed', 'modified'],
    [{ 'if-modified-since': 'junk' }, 'proceed', 'an invalid date is ignored'],
    [{ 'if-match': '"x"', 'if-none-match': '"abc"' }, 412, '412 comes before 304']
  ]
  for (const [headers, expected, name] of cases) t.equal(evaluatePreconditions('GET', headers, v), expected, name)
  t.equal(evaluatePreconditions('GET', { 'if-modified-since': same, 'if-unmodified-since': before }, { etag: '"abc"' }), 'proceed', 'dates mean nothing without Last-Modified')
})

t.test('ifRangeHolds: strong tags or the exact date', async (t) => {
  t.equal(ifRangeHolds({}, v), true)
  t.equal(ifRangeHolds({ 'if-range': '"abc"' }, v), true)
  t.equal(ifRangeHolds({ 'if-range': ' "abc" ' }, v), true)
  t.equal(ifRangeHolds({ 'if-range': '"abd"' }, v), false)
  t.equal(ifRangeHolds({ 'if-range': 'W/"abc"' }, v), false, 'a weak tag never validates a range')
  t.equal(ifRangeHolds({ 'if-range': same }, v), true)
  t.equal(ifRangeHolds({ 'if-range': before }, v), false)
  t.equal(ifRangeHolds({ 'if-range': 'junk' }, v), false)
  t.equal(ifRangeHolds({ 'if-range': same }, { etag: '"abc"' }), false, 'no date to compare')
})

t.test('planRanges', async (t) => {
  t.same(planRanges(100, undefined), { kind: 'full' })
  t.same(planRanges(100, 'bytes=0-9'), { kind: 'partial', ranges: [{ start: 0, end: 9 }] })
  t.same(planRanges(100, 'bytes=90-'), { kind: 'partial', ranges: [{ start: 90, end: 99 }] })
  t.same(planRanges(100, 'bytes=-5'), { kind: 'partial', ranges: [{ start: 95, end: 99 }] })
  t.same(planRanges(100, 'bytes=95-200'), { kind: 'partial', ranges: [{ start: 95, end: 99 }] }, 'an end past the size is clipped')
  t.same(planRanges(100, 'bytes=0-1,5-6'), { kind: 'partial', ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }] })
  t.same(planRanges(100, 'bytes=0-5,3-9'), { kind: 'partial', ranges: [{ start: 0, end: 9 }] }, 'overlaps merge')
  t.same(planRanges(100, 'bytes=100-'), { kind: 'unsatisfiable' })
  t.same(planRanges(100, 'bytes=-0'), { kind: 'unsatisfiable' })
  t.same(planRanges(100, 'bytes=-200'), { kind: 'partial', ranges: [{ start: 0, end: 99 }] }, 'a suffix longer than the file is all of it')
  t.same(planRanges(100, 'bytes=junk'), { kind: 'full' }, 'malformed is ignored')
  t.same(planRanges(100, 'items=0-5'), { kind: 'full' }, 'other units are ignored')
  t.same(planRanges(0, 'bytes=0-'), { kind: 'full' }, 'an empty file has no ranges')
  const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 3}-${i * 3}`).join(',')
  t.same(planRanges(1000, 'bytes=' + many), { kind: 'full' }, 'too many ranges: the whole file')
})

t.test('contentRange and multipart parts', async (t) => {
  t.equal(contentRange(100), 'bytes */100')
  t.equal(contentRange(100, { start: 5, end: 9 }), 'bytes 5-9/100')
  const ranges = [{ start: 0, end: 1 }, { start: 5, end: 6 }]
  const parts = multipartParts('B', 'text/plain', 10, ranges)
  t.same(parts.heads, [
    '--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n',
    '\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\n'
  ])
  t.equal(parts.tail, '\r\n--B--\r\n')
  t.equal(parts.length, parts.heads.join('').length + 4 + parts.tail.length)
})

t.test('cacheControl: always revalidate unless asked', async (t) => {
  t.equal(cacheControl({ maxAge: 0, immutable: false }), 'no-cache')
  t.equal(cacheControl({ maxAge: 0, immutable: true }), 'no-cache')
  t.equal(cacheControl({ maxAge: 3600, immutable: false }), 'public, max-age=3600')
  t.equal(cacheControl({ maxAge: 31536000, immutable: true }), 'public, max-age=31536000, immutable')
})

t.test('pickEncoding honours q-values and refusals', async (t) => {
  const both = ['br', 'gzip'] as const
  t.equal(pickEncoding(undefined, both), undefined)
  t.equal(pickEncoding('gzip, deflate, br', both), 'br')
  t.equal(pickEncoding('gzip', both), 'gzip')
  t.equal(pickEncoding('br;q=0.5, gzip', both), 'gzip')
  t.equal(pickEncoding('br;q=0, *', both), 'gzip', 'an explicit refusal beats *')
  t.equal(pickEncoding('identity', both), undefined)
  t.equal(pickEncoding('gzip;q=0', both), undefined)
  t.equal(pickEncoding('GZIP', both), 'gzip')
  t.equal(pickEncoding('br', ['gzip']), undefined)
  t.equal(pickEncoding('br', []), undefined)
})

t.test('planRanges ignores what is not valid bytes syntax (§14.2)', async (t) => {
  for (const header of ['bytes=5-2', 'bytes=abc-', 'bytes=', 'bytes=,', 'bytes 0-1', 'bytes=1-2-3', 'bytes=--1', 'bytes=0-1,x', 'bytes=0-1,5-2', 'bytes=+1-2']) {
    t.same(planRanges(100, header), { kind: 'full' }, header)
  }
  for (const header of ['BYTES=0-1', 'Bytes=0-1', 'bytes=0-1,', 'bytes=,0-1', 'bytes=0-1,,', 'bytes=\t0-1']) {
    t.same(planRanges(100, header), { kind: 'partial', ranges: [{ start: 0, end: 1 }] }, `${header}: unit in any case, empty elements allowed`)
  }
  t.same(planRanges(100, 'bytes= 0-1 , 5-6'), { kind: 'partial', ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }] }, 'spaces around commas')
})
