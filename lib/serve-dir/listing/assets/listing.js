// The listing page's script. Served under a name that carries its hash (see ../assets.ts), as a
// classic deferred script: it runs once the page is parsed. The page works fully without it
// (sorting and filtering are forms); it makes filtering instant, shows dates in the reader's
// locale and adds keys. Plain ES5, no modules: it runs in whatever browser a folder is opened in.
'use strict'

;(function () {
  var d = document
  // the stylesheet hides the filter's submit button once filtering is instant
  d.documentElement.classList.add('js')

  // every entry row, not the parent folder's
  var rows = [].slice.call(d.querySelectorAll('tbody tr:not(.up)'))

  // dates: the server writes ISO 8601 (UTC); show them in the reader's locale and time zone,
  // keeping the exact value as a tooltip
  var fmt
  try {
    fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
  } catch (e) {
    // no Intl, or one that refuses these options: the server's text stays
    fmt = null
  }
  d.querySelectorAll('time[datetime]').forEach(function (t) {
    var v = t.getAttribute('datetime')
    t.title = v
    if (fmt) t.textContent = fmt.format(new Date(v))
  })

  var q = d.getElementById('q')
  var counts = d.getElementById('shown')

  // as the server filters (render.ts): names containing the text, case-insensitively, NFC and NFD alike
  function norm (s) {
    return s.normalize ? s.normalize('NFC').toLowerCase() : s.toLowerCase()
  }

  function filter () {
    var v = norm(q.value)
    var n = 0
    rows.forEach(function (r) {
      var hit = norm(r.getAttribute('data-name') || '').indexOf(v) !== -1
      r.hidden = !hit
      if (hit) n++
    })
    if (counts) counts.textContent = v ? n + ' of ' + rows.length + ' shown' : ''
    // keep the address in step, so that a reload or a shared link shows the same rows (from the
    // first page: an offset into the unfiltered list means nothing in the filtered one)
    var u = new URL(location.href)
    if (v) u.searchParams.set('q', q.value)
    else u.searchParams.delete('q')
    u.searchParams.delete('offset')
    history.replaceState(null, '', u)
  }

  if (q) {
    q.addEventListener('input', filter)
    q.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') {
        q.value = ''
        filter()
        q.blur()
      }
    })
  }

  // the names' links of the rows the filter shows, in page order
  function links () {
    return [].slice.call(d.querySelectorAll('tbody tr:not([hidden]) td:first-child a'))
  }

  // keys: / focuses the filter; ArrowDown/ArrowUp (and j/k outside the filter) move between names
  d.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return
    var a = d.activeElement
    var inField = a && a.tagName === 'INPUT'
    if (e.key === '/' && !inField && q) {
      e.preventDefault()
      q.focus()
      q.select()
      return
    }
    var k = e.key === 'ArrowDown' || (e.key === 'j' && !inField)
      ? 1
      : e.key === 'ArrowUp' || (e.key === 'k' && !inField) ? -1 : 0
    if (!k) return
    var l = links()
    if (!l.length) return
    var i = l.indexOf(a)
    e.preventDefault()
    // from nowhere, the first (down) or the last (up); else the next one, stopping at either end
    l[i === -1 ? (k > 0 ? 0 : l.length - 1) : Math.max(0, Math.min(l.length - 1, i + k))].focus()
  })
})()
