// A real nginx (Debian nginx-light) as a caching reverse proxy in front of the app, mounting it
// below /files/: validators, 304s, 206s, redirects and listings must pass through intact.
import t from 'tap'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { writeFileSync, mkdirSync } from 'node:fs'
import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { build, exitOf, freePort, link, spawnReaped, waitFor } from '../helper'

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((n) => spawnSync(n, ['-v']).status === 0)

t.test('behind nginx', { skip: NGINX === undefined && 'no nginx (CI installs nginx-light)' }, async (t) => {
  const dir = t.testdir({ www: { 'a.txt': 'hello through nginx', 'big.bin': Buffer.alloc(100000, 'x'), sub: { 'b.txt': 'b' } }, nginx: { cache: {}, logs: {} } })
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (c, _e, cb) { for (const l of String(c).split('\n')) if (l !== '') lines.push(JSON.parse(l)); cb() } })
  const root = path.join(dir, 'www')
  // the default (always revalidate), and one that lets caches keep files a minute
  const app = await build(t, ['--root', root], { trustProxy: true, logger: { level: 'info', stream } })
  const cachedApp = await build(t, ['--root', root, '--max-age', '60'])
  await app.listen({ port: 0, host: '127.0.0.1' })
  await cachedApp.listen({ port: 0, host: '127.0.0.1' })
  const upstream = (app.server.address() as AddressInfo).port
  const cachedUpstream = (cachedApp.server.address() as AddressInfo).port
  const port = await freePort()
  const prefix = path.join(dir, 'nginx')
  mkdirSync(path.join(prefix, 'logs'), { recursive: true })
  writeFileSync(path.join(prefix, 'nginx.conf'), `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/cache/body; proxy_temp_path ${prefix}/cache/proxy;
  fastcgi_temp_path ${prefix}/cache/f; uwsgi_temp_path ${prefix}/cache/u; scgi_temp_path ${prefix}/cache/s;
  proxy_cache_path ${prefix}/cache/c keys_zone=c:1m;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  server {
    listen 127.0.0.1:${port};
    location /files/ {
      proxy_pass http://127.0.0.1:${upstream}/;
    }
    location /cached/ {
      proxy_pass http://127.0.0.1:${cachedUpstream}/;
      proxy_cache c;
      proxy_cache_revalidate on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`)
  const nginx = spawnReaped(t, NGINX as string, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'])
  let nginxErr = ''
  nginx.stderr.setEncoding('utf8').on('data', (d: string) => { nginxErr += d })
  const base = `http://127.0.0.1:${port}/files`
  await waitFor('nginx to answer', async () => {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxErr}`)
    return await fetch(base + '/sub/b.txt').then(async (r) => { await r.arrayBuffer(); return true }, () => false)
  })

  await t.test('a plain reverse proxy passes everything through', async (t) => {
    const first = await fetch(base + '/a.txt', { headers: { 'x-forwarded-for': '198.51.100.9' } })
    t.equal(await first.text(), 'hello through nginx')
    const etag = first.headers.get('etag') as string
    t.match(etag, /^W\/"[^"]+"$/, 'send\'s weak ETag passes through')
    t.ok(first.headers.get('last-modified'))
    t.equal(first.headers.get('cache-control'), 'no-cache')
    t.equal(first.headers.get('x-content-type-options'), 'nosniff')
    // max-age=0, as a browser revalidates: fetch() would add `no-cache`, which send always answers in full
    t.equal((await fetch(base + '/a.txt', { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } })).status, 304)
    const range = await fetch(base + '/big.bin', { headers: { range: 'bytes=10-19' } })
    t.equal(range.status, 206)
    t.equal(range.headers.get('content-range'), 'bytes 10-19/100000')
    t.equal(await range.text(), 'xxxxxxxxxx')

    const redirect = await fetch(base + '/sub?x=1', { redirect: 'manual' })
    t.equal(redirect.status, 301)
    t.equal(redirect.headers.get('location'), 'sub/?x=1', 'relative: right below the mount')
    const followed = await fetch(base + '/sub?x=1')
    t.equal(followed.url, `${base}/sub/?x=1`, 'a client lands on /files/sub/')
    const listing = await followed.text()
    t.match(listing, link('b.txt', 'b.txt'))
    t.match(listing, link('../', '../'))
    t.equal(await (await fetch(new URL('b.txt', followed.url))).text(), 'b', 'the listing\'s links work through the proxy')
    const json = await fetch(base + '/sub/', { headers: { accept: 'application/json' } })
    t.equal(json.headers.get('vary'), 'Accept, Accept-Encoding')
    t.equal(((await json.json()) as { entries: Array<{ name: string }> }).entries[0].name, 'b.txt')

    const logged = lines.find((l) => l.msg === 'request completed' && l.url === '/a.txt')
    t.equal(logged?.remoteAddress, '198.51.100.9', 'with trustProxy the log shows the real client')
  })

  await t.test('a caching proxy keeps files with maxAge, revalidates, answers 304 and 206 itself', async (t) => {
    const cached = `http://127.0.0.1:${port}/cached`
    const first = await fetch(cached + '/big.bin')
    t.equal(first.headers.get('cache-control'), 'public, max-age=60')
    const etag = first.headers.get('etag') as string
    await first.arrayBuffer()
    const again = await fetch(cached + '/big.bin')
    t.equal(again.headers.get('x-cache'), 'HIT')
    t.equal(again.headers.get('etag'), etag, 'the same validator from the cache')
    await again.arrayBuffer()
    t.equal((await fetch(cached + '/big.bin', { headers: { 'if-none-match': etag } })).status, 304)
    const range = await fetch(cached + '/big.bin', { headers: { range: 'bytes=99990-' } })
    t.equal(range.status, 206)
    t.equal(range.headers.get('content-range'), 'bytes 99990-99999/100000')
    t.equal(await range.text(), 'xxxxxxxxxx')
  })

  // nginx first: the apps' close() waits for the connections it holds
  nginx.kill('SIGTERM')
  await exitOf(nginx)
})
