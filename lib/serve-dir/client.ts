// Who a request comes from, for what is counted per client (failed logins, places in a queue): an
// address the client cannot choose. That is the connection's peer, or behind a proxy the host
// trusts (Fastify's `trustProxy`) the address that proxy saw. A forwarded value that is not an IP
// address (any text a client wrote) never names a client of its own: the peer stands for it. An
// IPv6 client is its /64, the block one machine is given (it may take a new address at will);
// an IPv4 one (also written as IPv4-mapped IPv6) is its address.
import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'

/** The client a request is counted as: an IPv4 address or an IPv6 `/64`, or `''` when unknown. */
export function clientOf (req: FastifyRequest): string {
  // both are undefined once the connection is gone
  const forwarded = req.ip ?? ''
  return networkOf(isIP(forwarded) !== 0 ? forwarded : req.raw.socket?.remoteAddress ?? '')
}

/** The trusted proxy a request came through (counted as {@link clientOf} counts), or `undefined`. */
export function proxyOf (req: FastifyRequest): string | undefined {
  const peer = req.raw.socket?.remoteAddress
  return req.ip === peer ? undefined : networkOf(peer ?? '')
}

/** An IPv6 address's `/64` (an IPv4-mapped one's IPv4 address); any other string as it is. */
export function networkOf (ip: string): string {
  if (isIP(ip) !== 6) return ip
  let bare = ip.replace(/%.*$/, '').toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    bare = bare.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16)
  }
  const [head, tail] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = Array<string>(8 - left.length - right.length).fill('0')
  const groups = tail === undefined ? left : [...left, ...zeros, ...right]
  const words = groups.map((g) => parseInt(g, 16))
  if (words.slice(0, 6).join() === '0,0,0,0,0,65535') {
    return [words[6] >> 8, words[6] & 255, words[7] >> 8, words[7] & 255].join('.')
  }
  return words.slice(0, 4).map((w) => w.toString(16)).join(':') + '::/64'
}
