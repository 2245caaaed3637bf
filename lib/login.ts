// The command's login flags made into the plugin's `auth`: a password is typed on the terminal
// (not shown) or taken from $SERVE_DIR_PASSWORD, never from the command line, where `ps` and
// /proc/<pid>/cmdline would show it to every user of the machine.
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { read } from 'read'
import { hashPassword } from './serve-dir/auth/passwords'
import type { AuthOptions } from './serve-dir/options'
import { UsageError, type CliOptions } from './cli-args'

/** Where a password may come from. */
export interface PasswordSource {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
}

export const PASSWORD_VARIABLE = 'SERVE_DIR_PASSWORD'

/**
 * The password for `user`: $SERVE_DIR_PASSWORD, or typed on the terminal without echo (`twice`:
 * typed again, to be sure). Neither a terminal nor the variable is a usage error.
 */
export async function askPassword (flag: string, user: string, io: PasswordSource, twice = false): Promise<string> {
  const given = io.env[PASSWORD_VARIABLE]
  if (given !== undefined) {
    if (given === '') throw new UsageError(`argument ${flag}: $${PASSWORD_VARIABLE} is empty`)
    return given
  }
  if (io.stdin.isTTY !== true) throw new UsageError(`argument ${flag}: type the password on a terminal, or set $${PASSWORD_VARIABLE}`)
  const ask = async (prompt: string): Promise<string> =>
    await read({ prompt, silent: true, replace: '', input: io.stdin, output: io.stderr })
  const password = await ask(`Password for ${user}: `)
  if (password === '') throw new UsageError(`argument ${flag}: an empty password`)
  if (twice && await ask('Again: ') !== password) throw new UsageError(`argument ${flag}: the passwords differ`)
  return password
}

/**
 * The plugin's `auth` for the command's login flags, and the token the command prints. A file
 * that cannot be read says so (the plugin says what is wrong inside one, when it starts).
 */
export async function authFor (login: NonNullable<CliOptions['login']>, io: PasswordSource): Promise<AuthOptions> {
  let users: AuthOptions['users']
  if (login.file !== undefined) {
    try {
      users = await readFile(login.file, 'utf8')
    } catch (err) {
      throw new Error(`--auth-file ${login.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
  }
  if (login.user !== undefined) users = { [login.user]: await hashPassword(await askPassword('--auth', login.user, io)) }
  return {
    ...(users === undefined ? {} : { users }),
    // 128 bits from the system's generator
    ...(login.token ? { token: randomBytes(16).toString('base64url') } : {}),
    publicRead: login.publicRead
  }
}

/** `--hash-password USER`: the htpasswd line for USER's password, typed twice. */
export async function passwordLine (user: string, io: PasswordSource): Promise<string> {
  if (user === '' || /[:\s]/.test(user)) throw new UsageError(`argument --hash-password: a user name without ':' or spaces, got '${user}'`)
  return `${user}:${await hashPassword(await askPassword('--hash-password', user, io, true))}`
}
