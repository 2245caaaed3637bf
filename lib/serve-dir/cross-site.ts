// Cross-site requests refused, for writes (uploads) and for live reload's event stream. A web page
// anywhere can make a browser POST a form (or, with a DNS name pointed at 127.0.0.1, PUT, or listen
// to an event stream) to a server on the visitor's network: the browser says where the
// request comes from (Origin, Sec-Fetch-Site) and what name it addressed (Host), and such a request
// is only taken when both are this server's. curl and other programs send neither Origin nor
// Sec-Fetch-Site, and an IP literal or this machine's name as Host: they pass.
import os from 'node:os'
import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { WriteForbiddenError } from './errors'

/** The host name of a Host header (`[::1]:8000` -> `::1`, `Example.local.:80` -> `example.local`). */
export function hostName (host: string): string {
  const h = host.toLowerCase()
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d*$/, '')
  return name.endsWith('.') ? name.slice(0, -1) : name
}

/**
 * Whether `name` is this machine as a browser may address it without a rebinding: an IP literal,
 * `localhost` or a name below it, this machine's host name (and `NAME.local`), or one of `allowed`.
 */
export function isOwnHost (name: string, allowed: readonly string[], machine = os.hostname().toLowerCase()): boolean {
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') ||
    name === machine || name === machine + '.local' || allowed.includes(name)
}

/**
 * Throws a 403 (`refusal`'s error, a refused upload's by default) unless the request comes from
 * this server's own pages, or from no page at all.
 */
export function refuseCrossSite (
  req: FastifyRequest,
  allowedHosts: readonly string[],
  refusal: (why: string) => Error = (why) => new WriteForbiddenError(why)
): void {
  // Host (or HTTP/2's :authority); behind a proxy trusted with trustProxy, the X-Forwarded-Host it
  // sets, as the browser's Origin names it
  const host = req.host
  if (host === '' || !isOwnHost(hostName(host), allowedHosts)) {
    throw refusal('the Host header does not name this machine (add it with --allowed-host)')
  }
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw refusal('a cross-site request')
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `${req.protocol}://${host}`) throw refusal('a cross-origin request')
}
