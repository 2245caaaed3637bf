// Password hashes a login may be checked against: bcrypt (`htpasswd -nB`: `$2y$`, `$2a$`, `$2b$`)
// and scrypt in the PHC form passlib writes (`$scrypt$ln=15,r=8,p=3$salt$hash`, what
// `serve-dir --hash-password` makes). Plain text and the weak htpasswd forms (MD5 `$apr1$`, SHA-1
// `{SHA}`, crypt) are refused when the users are read, not when someone logs in.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { promisify } from 'node:util'
import bcrypt from 'bcryptjs'

/** Checks a password against one stored hash; `cost` names its algorithm and parameters (`bcrypt 12`). */
export interface Verifier {
  (password: string): Promise<boolean>
  readonly cost: string
}

/** scrypt's cost for new hashes: N = 2^15, r = 8, p = 3, one of OWASP's recommended settings (32 MiB, ~0.1 s). */
const SCRYPT_COST = { ln: 15, r: 8, p: 3 }
const SCRYPT_KEY_BYTES = 32
const SCRYPT_MAXMEM = 512 * 1024 * 1024
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/
const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{43,})$/

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, bytes: number, options: ScryptOptions) => Promise<Buffer>

async function derive (password: string, salt: Buffer, cost: { ln: number, r: number, p: number }, bytes: number): Promise<Buffer> {
  return await scryptAsync(password.normalize('NFC'), salt, bytes, { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: SCRYPT_MAXMEM })
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '')

/** A new scrypt hash of `password` (`cost` lowered only by tests, where every check would cost 0.1 s). */
export async function hashPassword (password: string, cost = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, cost, SCRYPT_KEY_BYTES)
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`
}

/** The checker of one stored hash; throws with the reason a hash may not be used. */
export function verifierOf (hash: string): Verifier {
  if (BCRYPT.test(hash)) {
    // $2y$ (PHP's and htpasswd's name) is the same algorithm as $2b$
    const normal = hash.replace(/^\$2y\$/, '$2b$')
    const check = async (password: string): Promise<boolean> => await bcrypt.compare(password, normal)
    return Object.assign(check, { cost: `bcrypt ${hash.slice(4, 6)}` })
  }
  const m = SCRYPT.exec(hash)
  if (m !== null) {
    const cost = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
    if (cost.ln < 1 || cost.ln > 20 || cost.r < 1 || cost.p < 1 || 128 * 2 ** cost.ln * cost.r > SCRYPT_MAXMEM) {
      throw new Error('an scrypt hash with costs out of range')
    }
    const salt = Buffer.from(m[4], 'base64')
    const key = Buffer.from(m[5], 'base64')
    const check = async (password: string): Promise<boolean> =>
      timingSafeEqual(await derive(password, salt, cost, key.length), key)
    return Object.assign(check, { cost: `scrypt ln=${cost.ln},r=${cost.r},p=${cost.p}` })
  }
  if (/^\$apr1\$|^\{SHA\}|^\$1\$|^\$[56]\$/.test(hash) || /^[./A-Za-z0-9]{13}$/.test(hash)) {
    throw new Error('a weak hash (MD5, SHA-1 or crypt): make a bcrypt one with htpasswd -nB, or run serve-dir --hash-password')
  }
  throw new Error('not a bcrypt or scrypt hash (a password in plain text?): make one with serve-dir --hash-password or htpasswd -nB')
}

/**
 * Users and their checkers from htpasswd text (`user:hash` lines; `#` comments and blank lines
 * skipped) or an object of user to hash. `where` names the source in errors (a file's path).
 */
export function usersOf (users: string | Record<string, string>, where: string): Map<string, Verifier> {
  const lines: Array<[string, string, string]> = typeof users === 'string'
    ? users.split(/\r?\n/).flatMap((line, i): Array<[string, string, string]> => {
      const text = line.trim()
      if (text === '' || text.startsWith('#')) return []
      const colon = text.indexOf(':')
      return [[colon === -1 ? text : text.slice(0, colon), colon === -1 ? '' : text.slice(colon + 1), `${where} line ${i + 1}`]]
    })
    : Object.entries(users).map(([user, hash]) => [user, hash, `${where} user ${JSON.stringify(user)}`])
  const out = new Map<string, Verifier>()
  for (const [user, hash, at] of lines) {
    if (user === '' || /[\x00-\x1f\x7f:]/.test(user)) throw new Error(`${at}: a user name must be a word without ':' or control characters`) // eslint-disable-line no-control-regex
    if (out.has(user)) throw new Error(`${at}: ${JSON.stringify(user)} is given twice`)
    if (typeof hash !== 'string') throw new Error(`${at}: the hash must be a string`)
    try {
      out.set(user, verifierOf(hash))
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`)
    }
  }
  return out
}

/**
 * The hash an unknown user's password is checked against, so that the check costs what a known
 * user's does: one of the users' own, of the cost most of them share (ties: the first listed). A
 * check's time tells its hash's cost, so users of another cost can be told apart from a name that
 * is no user whatever is chosen; the most common cost leaves the fewest of them (the most
 * expensive would leave every user of a cheaper one), and with one cost (as `--hash-password` and
 * `htpasswd -nB` make them) none.
 */
export function decoyOf (users: Map<string, Verifier>): Verifier | undefined {
  const byCost = new Map<string, { count: number, first: Verifier }>()
  for (const verify of users.values()) {
    const seen = byCost.get(verify.cost)
    if (seen === undefined) byCost.set(verify.cost, { count: 1, first: verify })
    else seen.count++
  }
  let best: { count: number, first: Verifier } | undefined
  for (const group of byCost.values()) if (best === undefined || group.count > best.count) best = group
  return best?.first
}
