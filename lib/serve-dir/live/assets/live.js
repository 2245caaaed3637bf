// serve-dir's live reload, in every page it serves while --live-reload is on (an external script,
// so that a page's own Content-Security-Policy of script-src 'self' allows it). One tab per
// browser holds the event stream (a Web Lock elects it), and passes what it hears to the others
// (a BroadcastChannel), so ten tabs cost one connection, not ten of HTTP/1.1's six per host.
// Frames under a page of this origin never open a stream: the page above reloads them with it.
(function () {
  'use strict'
  if (window.__serveDirLive) return
  window.__serveDirLive = true
  var me = document.currentScript
  if (!me || !window.EventSource) return
  var streamUrl = me.src.replace(/live-[^/?#]*\.js(?:[?#].*)?$/, 'live')
  var channelName = 'serve-dir-live ' + streamUrl
  // shared only where a leader can be elected: without Web Locks every tab holds its own stream,
  // and passing events on as well would make each tab act on each event once per tab
  var channel = window.BroadcastChannel && navigator.locks ? new window.BroadcastChannel(channelName) : null
  var server = null
  var leading = false

  // whether the window above is a page of this origin with this script: it reloads us with it
  function underLivePage () {
    if (window === window.top) return false
    try {
      return window.top.__serveDirLive === true
    } catch (e) {
      return false
    }
  }

  // each same-origin stylesheet loaded again beside itself; the old one goes once the new has
  // loaded, so the page never shows unstyled
  function swapStyles () {
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]')
    for (var i = 0; i < links.length; i++) {
      // a sheet already being replaced is not loaded again: its newest copy is
      if (!links[i].__serveDirReplaced) swap(links[i])
    }
  }

  function swap (link) {
    var url = new URL(link.href, document.baseURI)
    if (url.origin !== location.origin) return
    url.searchParams.set('serve-dir-reload', String(Date.now()))
    var next = link.cloneNode(false)
    next.href = url.href
    link.__serveDirReplaced = true
    next.__serveDirPrevious = link
    // once the newest copy has loaded, it and no other stays (an older copy may never have loaded)
    var done = function () {
      for (var old = next.__serveDirPrevious; old; old = old.__serveDirPrevious) {
        if (old.parentNode) old.parentNode.removeChild(old)
      }
      next.__serveDirPrevious = null
    }
    next.addEventListener('load', done)
    next.addEventListener('error', done)
    link.parentNode.insertBefore(next, link.nextSibling)
  }

  function handle (message) {
    if (message.type === 'ask') {
      // a tab just opened asks which server the stream is from
      if (leading && server !== null) channel.postMessage({ type: 'hello', id: server })
    } else if (message.type === 'hello') {
      // another server started since this page was loaded: what it serves may have changed
      if (server !== null && server !== message.id) location.reload()
      server = message.id
    } else if (message.css) {
      swapStyles()
    } else if (!underLivePage()) {
      location.reload()
    }
  }

  if (channel) channel.onmessage = function (e) { handle(e.data) }

  function listen () {
    leading = true
    var source = new EventSource(streamUrl)
    var pass = function (type) {
      return function (e) {
        var message = JSON.parse(e.data)
        message.type = type
        if (channel) channel.postMessage(message)
        handle(message)
      }
    }
    source.addEventListener('hello', pass('hello'))
    source.addEventListener('change', pass('change'))
    source.onerror = function () {
      // a refusal or a server gone for good (closed, not reconnecting): asked again a little later
      if (source.readyState === 2) setTimeout(listen, 2000)
    }
  }

  if (underLivePage()) return
  if (channel) {
    // the server this page came from, so that a restart while another tab holds the stream reloads it too
    channel.postMessage({ type: 'ask' })
    // held for the tab's life: when it closes, the next tab waiting takes the stream over
    navigator.locks.request(channelName, function () {
      listen()
      return new Promise(function () {})
    })
  } else {
    listen()
  }
})()
