// Where live reload's script tag goes in a page, decided on the page's bytes alone: before the last
// `</body>` (any case), else before the last `</html>`, else at the end. Tags inside a script, a
// style or a comment are text, not markup (`document.write('</body>')` is no end of the body), and
// a page that says `data-serve-dir-no-reload` on its `<html>` or `<body>` gets nothing. Only the tag
// is added: every other byte stays as it was, whatever its encoding, so the search runs on the
// bytes (latin1 maps each byte to one character) and never decodes them.

/** Markup whose content is text, skipped whole: comments, scripts and styles (to their end, or the page's). */
const TEXT_OR_END_TAG = /<!--[\s\S]*?(?:-->|$)|<(script|style)\b[\s\S]*?(?:<\/\1\s*>|$)|<\/(body|html)\s*>/gi
const OPT_OUT = /<(?:html|body)\b[^>]*\sdata-serve-dir-no-reload\b/i

/**
 * The byte offset at which to insert the script tag into `page`, or `null` when the page opts out
 * or is not in an ASCII-compatible encoding (UTF-16 or UTF-32: a BOM, or NUL bytes),
 * where ASCII bytes would corrupt it.
 */
export function injectionPoint (page: Buffer): number | null {
  if (isWide(page)) return null
  const text = page.toString('latin1')
  let body = -1
  let html = -1
  for (const m of text.matchAll(TEXT_OR_END_TAG)) {
    const tag = m[2]?.toLowerCase()
    if (tag === 'body') body = m.index
    else if (tag === 'html') html = m.index
  }
  if (OPT_OUT.test(text)) return null
  if (body >= 0) return body
  if (html >= 0) return html
  return page.length
}

/**
 * Whether `page` is UTF-16 or UTF-32 (by its BOM, or by a NUL byte anywhere: no ASCII-compatible
 * page has one, and a wide page's first KiB may be all text without one).
 */
function isWide (page: Buffer): boolean {
  const b0 = page[0]
  const b1 = page[1]
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return true
  return page.includes(0)
}

/** `page` with `tag` inserted at `at`: a new buffer, the page's bytes around the tag untouched. */
export function inject (page: Buffer, at: number, tag: Buffer): Buffer {
  return Buffer.concat([page.subarray(0, at), tag, page.subarray(at)])
}
