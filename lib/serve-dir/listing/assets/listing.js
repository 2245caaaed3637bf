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
  // uploads (only on listings of upload folders): each file is sent with its own PUT, so that a
  // progress bar can follow it and a folder's files keep their paths; a folder picker and
  // drag-and-drop of files and folders are added. Without the script the form posts them all.
  var form = d.querySelector('form.upload')
  if (form && window.XMLHttpRequest) {
    var input = form.querySelector('input[type=file]')
    var bar = form.querySelector('progress')
    var out = form.querySelector('output')
    var hiddenOk = form.getAttribute('data-hidden') === 'allow'
    var folderInput = d.createElement('input')
    folderInput.type = 'file'
    folderInput.id = 'updir'
    folderInput.multiple = true
    folderInput.webkitdirectory = true
    var folderLabel = d.createElement('label')
    folderLabel.htmlFor = 'updir'
    folderLabel.textContent = 'or a folder'
    form.insertBefore(folderInput, input.nextSibling)
    form.insertBefore(folderLabel, folderInput)

    var url = function (rel) {
      return location.pathname + rel.split('/').map(encodeURIComponent).join('/')
    }

    // files: [{ file, path }] with path relative to this folder, '/'-separated
    var upload = function (files) {
      var skipped = 0
      files = files.filter(function (f) {
        var keep = hiddenOk || !f.path.split('/').some(function (s) { return s.charAt(0) === '.' })
        if (!keep) skipped++
        return keep
      })
      if (!files.length) {
        out.textContent = skipped ? 'Hidden files are not added here.' : ''
        return
      }
      var total = files.reduce(function (n, f) { return n + f.file.size }, 0) || 1
      var sent = 0
      var failed = []
      bar.hidden = false
      bar.value = 0
      var next = function (i) {
        if (i === files.length) {
          bar.hidden = true
          // hidden names left out are no failure: a folder from a Mac always holds a .DS_Store
          if (!failed.length) return location.reload()
          out.textContent = (files.length - failed.length) + ' of ' + (files.length + skipped) + ' added. ' +
            failed.join('; ') + (skipped ? (failed.length ? '; ' : '') + skipped + ' hidden skipped' : '')
          return
        }
        var f = files[i]
        out.textContent = 'Sending ' + f.path + ' (' + (i + 1) + ' of ' + files.length + ')'
        var x = new XMLHttpRequest()
        x.open('PUT', url(f.path))
        x.setRequestHeader('Accept', 'application/json')
        x.upload.onprogress = function (e) { bar.value = (sent + e.loaded) / total }
        x.onloadend = function () {
          sent += f.file.size
          if (x.status !== 201 && x.status !== 204) {
            var why = 'no answer'
            try { why = JSON.parse(x.responseText).message } catch (e) { if (x.status) why = 'HTTP ' + x.status }
            failed.push(f.path + ': ' + why)
          }
          next(i + 1)
        }
        x.send(f.file)
      }
      next(0)
    }

    var picked = function (e) {
      upload([].map.call(e.target.files, function (f) { return { file: f, path: f.webkitRelativePath || f.name } }))
      e.target.value = ''
    }
    form.addEventListener('submit', function (e) {
      e.preventDefault()
      upload([].map.call(input.files, function (f) { return { file: f, path: f.name } }))
      input.value = ''
    })
    folderInput.addEventListener('change', picked)

    // a dropped folder is read entry by entry (readEntries gives a few at a time)
    var walk = function (entry, prefix, into, done) {
      if (entry.isFile) {
        return entry.file(function (f) {
          into.push({ file: f, path: prefix + entry.name })
          done()
        }, done)
      }
      var reader = entry.createReader()
      var children = []
      var more = function () {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            var left = children.length
            if (!left) return done()
            return children.forEach(function (c) {
              walk(c, prefix + entry.name + '/', into, function () { if (--left === 0) done() })
            })
          }
          children = children.concat([].slice.call(batch))
          more()
        }, done)
      }
      more()
    }
    d.addEventListener('dragover', function (e) {
      if ([].indexOf.call(e.dataTransfer.types, 'Files') === -1) return
      e.preventDefault()
      d.documentElement.classList.add('dropping')
    })
    d.addEventListener('dragleave', function (e) {
      if (!e.relatedTarget) d.documentElement.classList.remove('dropping')
    })
    d.addEventListener('drop', function (e) {
      if ([].indexOf.call(e.dataTransfer.types, 'Files') === -1) return
      e.preventDefault()
      d.documentElement.classList.remove('dropping')
      var items = [].slice.call(e.dataTransfer.items || [])
      var entries = items.map(function (it) { return it.webkitGetAsEntry && it.webkitGetAsEntry() })
      if (!entries.length || entries.some(function (en) { return !en })) {
        return upload([].map.call(e.dataTransfer.files, function (f) { return { file: f, path: f.name } }))
      }
      var files = []
      var left = entries.length
      entries.forEach(function (en) {
        walk(en, '', files, function () { if (--left === 0) upload(files) })
      })
    })
  }
})()
