// The addresses another device on the network can open, for the lines printed under Python's first
// one (on a terminal only). Pure: the interface table comes in (os.networkInterfaces() by default),
// so tests give their own and never connect to a LAN address.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { encode } from 'uqr'

type Table = NodeJS.Dict<NetworkInterfaceInfo[]>

/** Interfaces a phone on the same Wi-Fi cannot reach, or reaches only from the same machine. */
const LABELS: Array<[RegExp, string]> = [
  [/^(docker|br-|veth|cni|flannel|podman)/, 'container'],
  [/^(virbr|vboxnet|vmnet)/, 'virtual machine'],
  [/^(tun|tap|wg|utun|ppp|zt|tailscale|nordlynx)/, 'VPN']
]

const PRIVATE_V4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host.startsWith('127.')

/** An address another device may open, with what kind of interface it is on when that is not a plain one. */
export interface Shared { url: string, label?: string }

/**
 * The URLs another device may open when bound to every address (none otherwise): private LAN
 * first, then public, then container, VM and VPN interfaces; IPv6 bracketed, never link-local.
 */
export function networkAddresses (host: string, port: number, secure = false, table: Table = networkInterfaces()): Shared[] {
  if (host !== '0.0.0.0' && host !== '::') return []
  const scheme = secure ? 'https' : 'http'
  const found: Array<Shared & { rank: number }> = []
  for (const [name, addresses] of Object.entries(table)) {
    const label = LABELS.find(([pattern]) => pattern.test(name))?.[1]
    for (const a of addresses ?? []) {
      if (a.internal) continue
      // a 0.0.0.0 socket takes IPv4 only; a link-local IPv6 address needs a zone no browser takes
      if (a.family === 'IPv6' && (host === '0.0.0.0' || /^fe[89ab]/i.test(a.address))) continue
      const v4 = a.family === 'IPv4'
      const rank = (label === undefined ? 0 : 4) + (v4 ? (PRIVATE_V4.test(a.address) ? 0 : 1) : 2)
      found.push({ url: `${scheme}://${v4 ? a.address : `[${a.address}]`}:${port}/`, label, rank })
    }
  }
  // stable: the table's order within a rank
  return found.sort((a, b) => a.rank - b.rank).map(({ url, label }) => ({ url, label }))
}

/**
 * The lines for stderr after the first line: one `Network: URL` per address of networkAddresses;
 * when bound to loopback, one hint that `--bind 0.0.0.0` shares the folder; else none (the first
 * line already names the one address).
 */
export function networkLines (host: string, port: number, secure = false, table: Table = networkInterfaces()): string[] {
  if (isLoopback(host)) return ['Only this machine can connect; --bind 0.0.0.0 shares it with your network.']
  return networkAddresses(host, port, secure, table)
    .map(({ url, label }) => `Network: ${url}${label === undefined ? '' : ` (${label})`}`)
}

/** A QR code's quiet zone, in modules: the 4 the standard asks, so that cameras find its edge. */
const QUIET = 4

/**
 * `text` as a QR code in half-block characters, two rows of modules per line, drawn black on a
 * forced white background (ANSI), so that it scans on dark and light terminals alike.
 */
export function qrLines (text: string): string[] {
  const { data } = encode(text, { border: QUIET })
  const lines: string[] = []
  for (let y = 0; y < data.length; y += 2) {
    let line = ''
    for (let x = 0; x < data.length; x++) {
      const top = data[y][x]
      const bottom = data[y + 1]?.[x] ?? false
      line += top ? (bottom ? '█' : '▀') : (bottom ? '▄' : ' ')
    }
    lines.push(`\x1b[30;47m${line}\x1b[0m`)
  }
  return lines
}
