// The login, an onRequest hook in the plugin's context: every request it serves (files, listings,
// their assets, archives, uploads) needs a user from Basic auth or the cookie a `?token=` link
// set, unless `publicRead` lets anyone read. Routes of the host (health, readiness) are not ours.
//
// Basic auth is parsed strictly (anything malformed is a 401, never a 500) and checked so that it
// tells nothing: one 401 for a wrong user and a wrong password, a real hash of the users' usual
// cost checked for an unknown user too, comparisons in constant time. A login that worked is
// remembered (an HMAC of its header in a bounded LRU) so that a page's forty assets cost one hash,
// and requests with one header at once wait for one check. At most two hashes are computed at once
// (a flood of bad passwords cannot take the thread pool from file I/O), and one client (see
// ../client.ts: an address it cannot choose, an IPv6 /64) holds at most `maxPending` of the
// places, running or waiting, so that its flood delays another's first login by that many checks
// at most; `maxFailures` failures in a minute make it wait (429 with Retry-After).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import escapeHtml from 'escape-html'
import { LoginRequiredError, LoginsPendingError, TooManyLoginsError } from '../errors'
import { Slots, untilClientGone } from '../slots'
import { clientOf, proxyOf } from '../client'
import type { AuthSettings } from '../options'
import { decoyOf, type Verifier } from './passwords'

/** The cookie a `?token=` link sets, with a part of its own per token. */
export const COOKIE = 'serve-dir-login'
const FAILURE_WINDOW_MS = 60_000
const kUser = Symbol('serve-dir.user')

/** Who made the request, once the login let it in (`undefined` without a login). */
export function userOf (req: FastifyRequest): string | undefined {
  return (req as unknown as Record<symbol, string | undefined>)[kUser]
}

/**
 * `url` with the value of every `token` query parameter hidden, for logs: a parameter whose name
 * reads `token` once decoded as the login decodes it (`?%74oken=` is one too).
 */
export function redactToken (url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const hash = url.indexOf('#', q)
  const end = hash === -1 ? url.length : hash
  const params = url.slice(q + 1, end).split('&').map((param) => {
    const name = param.split('=', 1)[0]
    return new URLSearchParams(name).keys().next().value?.toLowerCase() === 'token' ? `${name}=[redacted]` : param
  })
  return url.slice(0, q + 1) + params.join('&') + url.slice(end)
}

const sha256 = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest()

/** Whether two secrets are equal, in a time that depends on neither. */
function same (a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b))
}

export class Login {
  /** Logins that worked, by an HMAC of their Authorization header: the header itself is never kept. */
  private readonly known = new LRUCache<string, string>({ max: 1000, ttl: 10 * 60_000 })
  private readonly failures = new LRUCache<string, { count: number, since: number }>({ max: 10_000, ttl: FAILURE_WINDOW_MS })
  private readonly hashing = new Slots('password checks', 2, 200, 30_000)
  /** Each client's checks running or waiting for a slot. */
  private readonly pending = new Map<string, number>()
  /** Checks under way, by the same HMAC as `known`: a header sent again meanwhile waits for its answer. */
  private readonly checking = new Map<string, Promise<string | undefined>>()
  private readonly key = randomBytes(32)
  /** A user whose hash an unknown user's password is checked against, so that both cost the same. */
  private readonly decoy: Verifier | undefined
  private readonly cookie: string | undefined
  private readonly cookieName: string

  constructor (private readonly settings: AuthSettings, private readonly cookiePath: string) {
    this.decoy = decoyOf(settings.users)
    this.cookie = settings.token === null ? undefined : createHmac('sha256', settings.token).update(COOKIE).digest('base64url')
    // cookies know no ports: two servers on one machine each keep their own
    this.cookieName = settings.token === null ? COOKIE : `${COOKIE}-${createHmac('sha256', settings.token).update('name').digest('hex').slice(0, 8)}`
  }

  /** Lets the request on, or answers it: the token's cookie page, a 401, a 429. */
  async check (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // a CORS preflight never carries credentials
    if (req.method === 'OPTIONS') return
    if (this.cookie !== undefined) {
      if (same(cookieOf(req.headers.cookie, this.cookieName) ?? '', this.cookie)) return this.let(req, 'token')
      // before publicRead: a login link logs in also where reading needs none
      const token = new URLSearchParams(queryOf(req.raw.url as string)).get('token')
      if (token !== null) return this.byToken(req, reply, token)
    }
    if (this.settings.publicRead && (req.method === 'GET' || req.method === 'HEAD')) return
    const header = req.headers.authorization
    if (header === undefined || this.settings.users.size === 0) throw this.refusal()
    const id = createHmac('sha256', this.key).update(header).digest('base64')
    const known = this.known.get(id)
    if (known !== undefined) return this.let(req, known)
    const under = this.checking.get(id)
    // the same guess again tells nothing more; a check given up (its client left) is made anew
    const joined = under === undefined ? null : await under.catch(() => null)
    if (joined !== null) {
      if (joined === undefined) throw this.refusal()
      return this.let(req, joined)
    }
    const client = clientOf(req)
    const held = this.pending.get(client) ?? 0
    if (held >= this.settings.maxPending) throw withRetry(new LoginsPendingError(), 1)
    // counted before the hash: a burst of guesses at once is held to the limit too
    const tries = this.attempt(req, client)
    this.pending.set(client, held + 1)
    const check = this.basic(header, reply)
    this.checking.set(id, check)
    const user = await check.finally(() => {
      this.checking.delete(id)
      const left = (this.pending.get(client) as number) - 1
      if (left === 0) this.pending.delete(client)
      else this.pending.set(client, left)
    })
    if (user === undefined) throw this.refusal()
    for (const f of tries) f.count--
    this.known.set(id, user)
    return this.let(req, user)
  }

  private let (req: FastifyRequest, user: string): undefined {
    (req as unknown as Record<symbol, string>)[kUser] = user
    return undefined
  }

  /** The user a Basic header proves, or `undefined`: malformed, unknown user, wrong password. */
  private async basic (header: string, reply: FastifyReply): Promise<string | undefined> {
    const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
    if (m === null || m[1].length % 4 !== 0) return undefined
    const raw = Buffer.from(m[1], 'base64')
    const colon = raw.indexOf(0x3a)
    if (colon === -1 || !isUtf8(raw)) return undefined
    const user = raw.subarray(0, colon).toString('utf8')
    const password = raw.subarray(colon + 1).toString('utf8')
    const verify = this.settings.users.get(user)
    const release = await this.hashing.take(untilClientGone(reply))
    try {
      // an unknown user costs what a known one does: the answer's time says nothing
      const ok = await (verify ?? this.decoy as Verifier)(password)
      return ok && verify !== undefined ? user : undefined
    } finally {
      release()
    }
  }

  /** A `?token=` link: the right token sets the cookie and leaves the address bar for the clean URL. */
  private byToken (req: FastifyRequest, reply: FastifyReply, token: string): FastifyReply {
    const tries = this.attempt(req, clientOf(req))
    if (!same(token, this.settings.token as string)) throw this.refusal()
    for (const f of tries) f.count--
    const url = req.raw.url as string
    const query = new URLSearchParams(queryOf(url))
    query.delete('token')
    const rest = query.toString()
    // one leading slash: `//host/` would be another site
    const clean = url.slice(0, url.indexOf('?')).replace(/^\/+/, '/') + (rest === '' ? '' : '?' + rest)
    const secure = req.protocol === 'https' ? '; Secure' : ''
    // a page, not a 303: after a redirect, a link followed from another site (a chat, a mail)
    // would not carry a SameSite=Strict cookie; a refresh from this page is this site's own
    const target = escapeHtml(clean)
    return reply.code(200).headers({
      'set-cookie': `${this.cookieName}=${this.cookie as string}; Path=${this.cookiePath}; HttpOnly; SameSite=Strict${secure}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'",
      'content-type': 'text/html; charset=utf-8'
    }).send(`<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="0; url=${target}">\n` +
      `<title>Logged in</title>\n</head>\n<body>\n<p>Logged in. <a href="${target}">Continue</a></p>\n</body>\n</html>\n`)
  }

  /**
   * One more try from this client, counted as a failure until it succeeds (the caller takes it
   * back from the counts it returns); 429 once it has failed too often in the last minute (no hash
   * is checked for it then). Through a trusted proxy, the proxy is counted too (with a budget of its
   * own): whoever reaches the port directly is believed as a proxy, and chooses the client's name.
   */
  private attempt (req: FastifyRequest, client: string): Array<{ count: number }> {
    const proxy = proxyOf(req)
    const keys: Array<[string, number]> = [[client, this.settings.maxFailures]]
    if (proxy !== undefined) keys.push([`via ${proxy}`, this.settings.maxProxyFailures])
    for (const [key, max] of keys) {
      const f = this.failures.get(key)
      if (f !== undefined && f.count >= max) {
        throw withRetry(new TooManyLoginsError(), Math.ceil((f.since + FAILURE_WINDOW_MS - Date.now()) / 1000))
      }
    }
    return keys.map(([key]) => {
      const f = this.failures.get(key)
      if (f !== undefined) {
        f.count++
        return f
      }
      // the window runs from the first failure: ttl is not reset by later ones
      const first = { count: 1, since: Date.now() }
      this.failures.set(key, first)
      return first
    })
  }

  /** The one 401 for every refusal: no header, a bad one, an unknown user, a wrong password or token. */
  private refusal (): Error {
    const err = new LoginRequiredError()
    if (this.settings.users.size > 0) {
      (err as unknown as { headers: Record<string, string> }).headers = {
        'www-authenticate': 'Basic realm="serve-dir", charset="UTF-8"'
      }
    }
    return err
  }
}

/** `err` with a Retry-After of `seconds` (at least one). */
function withRetry (err: Error, seconds: number): Error {
  (err as unknown as { headers: Record<string, string> }).headers = { 'retry-after': String(Math.max(1, seconds)) }
  return err
}

function queryOf (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q + 1)
}

/** The value of the cookie `name` in a Cookie header. */
function cookieOf (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
