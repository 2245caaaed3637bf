import t from 'tap'
import { inject, injectionPoint } from '../../lib/serve-dir/live/inject'

const TAG = Buffer.from('<script src="/.serve-dir/live-x.js" defer="defer"></script>')

/** The page with the tag where injectionPoint() puts it, as text (`null`: left alone). */
function injected (page: string | Buffer): string | null {
  const bytes = Buffer.isBuffer(page) ? page : Buffer.from(page)
  const at = injectionPoint(bytes)
  return at === null ? null : inject(bytes, at, TAG).toString('latin1')
}
const S = TAG.toString()

t.test('where the script lands', async (t) => {
  const table: Array<[string, string, string | null]> = [
    ['before </body>', '<html><body><p>hi</p></body></html>', `<html><body><p>hi</p>${S}</body></html>`],
    ['before the last </body> of several', '<body>a</body><body>b</body>\n', `<body>a</body><body>b${S}</body>\n`],
    ['whatever its case, and with spaces', '<BODY>x</BODY >', `<BODY>x${S}</BODY >`],
    ['before </html> with no </body>', '<html><p>x</html>', `<html><p>x${S}</html>`],
    ['at the end with neither', '<p>a fragment', `<p>a fragment${S}`],
    ['at the end of an empty page', '', S],
    ['not inside a script string', '<body><script>document.write("</body>")</script></body>',
      `<body><script>document.write("</body>")</script>${S}</body>`],
    ['not into a script that runs to the end', '<body><script>var s = "</body>"',
      `<body><script>var s = "</body>"${S}`],
    ['not into a comment', '<body>x</body><!-- </body> -->', `<body>x${S}</body><!-- </body> -->`],
    ['not into a style', '<body><style>/* </body> */</style></body>', `<body><style>/* </body> */</style>${S}</body>`],
    ['XHTML', '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
      `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/>${S}</html>`],
    ['</bodyx> is no end tag', '<body></bodyx>', `<body></bodyx>${S}`],
    ['opted out on <html>', '<html data-serve-dir-no-reload><body></body></html>', null],
    ['opted out on <body>', '<html><body class="a" data-serve-dir-no-reload="">x</body></html>', null],
    ['the word elsewhere is no opt-out', '<body><p>data-serve-dir-no-reload</p></body>',
      `<body><p>data-serve-dir-no-reload</p>${S}</body>`]
  ]
  for (const [name, page, want] of table) t.equal(injected(page), want, name)
})

t.test('the bytes of the page are untouched, whatever they encode', async (t) => {
  const page = Buffer.concat([Buffer.from('<body>é ☃ 𝄞 '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('</body>')])
  const at = injectionPoint(page) as number
  const out = inject(page, at, TAG)
  t.same(Buffer.concat([out.subarray(0, at), out.subarray(at + TAG.length)]), page, 'only the tag was added')
  t.equal(out.subarray(at + TAG.length).toString(), '</body>')
})

t.test('UTF-16 and UTF-32 pages are left alone', async (t) => {
  t.equal(injectionPoint(Buffer.from('\ufeff<body></body>', 'utf16le')), null, 'UTF-16LE with a BOM')
  const be = Buffer.from('\ufeff<body></body>', 'utf16le').swap16()
  t.equal(injectionPoint(be), null, 'UTF-16BE with a BOM')
  t.equal(injectionPoint(Buffer.from('<body></body>', 'utf16le')), null, 'UTF-16 without a BOM (NUL bytes)')
  // its first KiB in Cyrillic: no NUL byte there (U+0416 is 16 04), the markup's NULs come later
  t.equal(injectionPoint(Buffer.from('\u0416'.repeat(600) + '<p>end</p>', 'utf16le')), null, 'UTF-16 without a BOM, NUL bytes past the first KiB')
  t.not(injectionPoint(Buffer.from('\ufeff<body></body>')), null, 'UTF-8 with a BOM is injected')
})
