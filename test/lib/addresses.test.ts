// The lines under the first one that tell how another device reaches the folder: from an injected
// interface table (never a real LAN address), and through the command, on a terminal only.
import t from 'tap'
import type { NetworkInterfaceInfo } from 'node:os'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { stripVTControlCharacters } from 'node:util'
import jsQR from 'jsqr'
import { networkLines, qrLines } from '../../lib/addresses'
import { start } from '../../lib/command'
import { capture } from '../helper'

const v4 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null })
const v6 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv6', internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 })

const TABLE = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  docker0: [v4('172.17.0.1')],
  tun0: [v4('10.8.0.2')],
  eth0: [v4('203.0.113.7'), v6('fe80::1'), v6('2001:db8::7'), v6('fd12:3456::7')],
  wlan0: [v4('192.168.1.23')],
  gone: undefined
}

t.test('bound to every IPv4 address: private LAN first, then others, labelled ones last; no IPv6', async (t) => {
  t.same(networkLines('0.0.0.0', 8000, false, TABLE), [
    'Network: http://192.168.1.23:8000/',
    'Network: http://203.0.113.7:8000/',
    'Network: http://172.17.0.1:8000/ (container)',
    'Network: http://10.8.0.2:8000/ (VPN)'
  ])
})

t.test('bound to :: : IPv6 global and ULA addresses bracketed, never link-local; https when secure', async (t) => {
  const lines = networkLines('::', 8443, true, TABLE)
  t.same(lines.slice(0, 4), [
    'Network: https://192.168.1.23:8443/',
    'Network: https://203.0.113.7:8443/',
    'Network: https://[2001:db8::7]:8443/',
    'Network: https://[fd12:3456::7]:8443/'
  ])
  t.notMatch(lines.join('\n'), /fe80|127\.0\.0\.1|::1\]/)
  t.same(networkLines('::', 1, false, { vboxnet0: [v4('192.168.56.1')] }), ['Network: http://192.168.56.1:1/ (virtual machine)'])
})

t.test('bound to loopback: one hint to share; bound to one address: nothing more', async (t) => {
  for (const host of ['127.0.0.1', '::1', 'localhost']) {
    t.same(networkLines(host, 8000, false, TABLE), ['Only this machine can connect; --bind 0.0.0.0 shares it with your network.'], host)
  }
  t.same(networkLines('192.168.1.23', 8000, false, TABLE), [])
  t.ok(Array.isArray(networkLines('0.0.0.0', 8000)), 'the real table by default')
})

t.test('the command writes them on stderr when it is a terminal, after the unchanged first line', async (t) => {
  for (const tty of [true, false]) {
    const stdout = capture()
    const stderr = capture()
    if (tty) Object.defineProperty(stderr.stream, 'isTTY', { value: true })
    const dir = t.testdir({ 'index.html': 'x' })
    const started = await start(['0', '--directory', dir, '--log-format', 'json'], { stdout: stdout.stream, stderr: stderr.stream })
    if (!('server' in started)) throw new Error(`exit ${started.status}: ${stderr.text()}`)
    const { port } = started.server.server.address() as AddressInfo
    await started.server.close()
    t.equal(stdout.text(), `Serving HTTP on 127.0.0.1 port ${port} (http://127.0.0.1:${port}/) ...\n`)
    t.equal(stderr.text().includes('--bind 0.0.0.0 shares it'), tty, `hint ${tty ? 'on' : 'not on'} a terminal`)
  }
})

/** The printed half-block lines back to pixels (dark = black), each module 4 x 4, then decoded. */
function decode (lines: string[]): string | undefined {
  const rows: boolean[][] = []
  for (const line of lines) {
    t.ok(line.startsWith('\x1b[30;47m') && line.endsWith('\x1b[0m'), 'black on white')
    const chars = [...stripVTControlCharacters(line)]
    t.ok(chars.every((c) => ' ▀▄█'.includes(c)), 'half blocks only')
    rows.push(chars.map((c) => c === '▀' || c === '█'), chars.map((c) => c === '▄' || c === '█'))
  }
  const scale = 4
  const size = rows[0].length * scale
  const pixels = new Uint8ClampedArray(size * rows.length * scale * 4)
  for (let y = 0; y < rows.length * scale; y++) {
    for (let x = 0; x < size; x++) {
      const v = rows[Math.floor(y / scale)][Math.floor(x / scale)] ? 0 : 255
      pixels.set([v, v, v, 255], (y * size + x) * 4)
    }
  }
  return jsQR(pixels, size, rows.length * scale)?.data
}

t.test('the QR code decodes back to its URL, with a quiet zone of 4 modules', async (t) => {
  for (const url of ['http://192.168.1.23:8000/', 'https://[2001:db8::7]:8443/']) {
    const lines = qrLines(url)
    t.equal(decode(lines), url)
    const plain = lines.map(stripVTControlCharacters)
    t.match(plain[0], /^ +$/, 'the top two rows are blank')
    t.match(plain[1], /^ +$/)
    t.ok(plain.every((l) => l.startsWith('    ') && l.endsWith('    ')), 'four blank modules left and right')
  }
  t.not(decode(qrLines('http://a/')), 'http://b/', 'a decode can tell two URLs apart')
})

t.test('--qr: the code of the first network address on stderr; a plain line when there is none', async (t) => {
  // Fastify reads the table too when bound to 0.0.0.0 (to log its addresses): entries only
  const { gone, ...table } = TABLE
  t.intercept(os, 'networkInterfaces', { value: () => table })
  for (const [bind, expected] of [['0.0.0.0', 'url'], ['127.0.0.1', 'none']]) {
    const stdout = capture()
    const stderr = capture()
    const dir = t.testdir({ 'index.html': 'x' })
    const started = await start(['0', '--bind', bind, '--directory', dir, '--log-format', 'json', '--qr'], { stdout: stdout.stream, stderr: stderr.stream })
    if (!('server' in started)) throw new Error(`exit ${started.status}: ${stderr.text()}`)
    const { port } = started.server.server.address() as AddressInfo
    await started.server.close()
    const printed = stderr.text().split('\n').filter((l) => l.startsWith('\x1b['))
    if (expected === 'url') t.equal(decode(printed), `http://192.168.1.23:${port}/`, 'not a terminal, asked by name')
    else t.match(stderr.text(), '--qr: no network address to show: --bind 0.0.0.0')
  }
})

t.test('--token with --qr: the login link for another device, in the code too; a warning for a login without TLS', async (t) => {
  const { gone, ...table } = TABLE
  t.intercept(os, 'networkInterfaces', { value: () => table })
  const stdout = capture()
  const stderr = capture()
  const dir = t.testdir({ 'index.html': 'x' })
  const started = await start(['0', '--bind', '0.0.0.0', '--directory', dir, '--log-format', 'json', '--qr', '--token'], { stdout: stdout.stream, stderr: stderr.stream })
  if (!('server' in started)) throw new Error(`exit ${started.status}: ${stderr.text()}`)
  const { port } = started.server.server.address() as AddressInfo
  await started.server.close()
  const link = new RegExp(`^Login link for another device: (http://192\\.168\\.1\\.23:${port}/\\?token=[\\w-]{22})$`, 'm').exec(stderr.text())
  t.ok(link, stderr.text())
  t.match(stderr.text(), `Login link (it holds the password, share it with care): http://127.0.0.1:${port}/?token=`, 'this machine\'s link: not 0.0.0.0, which no browser opens')
  t.equal(decode(stderr.text().split('\n').filter((l) => l.startsWith('\x1b['))), link?.[1], 'the QR code holds the login link')
  t.match(stderr.text(), '"msg":"the login crosses the network unencrypted: --tls-cert and --tls-key serve HTTPS"')
})
