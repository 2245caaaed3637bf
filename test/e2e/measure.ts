// What a server process costs while it is attacked, from /proc: memory, descriptors, CPU; and how
// long a small file takes meanwhile. For the hostile-client tests.
import { readFileSync, readdirSync } from 'node:fs'
import type { Test } from 'tap'
import { rawRequest, waitFor } from '../helper'

export const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
export const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length
/** CPU seconds the process has used, user and system. */
export const cpu = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** Waits until the process has used no CPU for half a second: the work the attack caused is over. */
export async function quiet (pid: number): Promise<void> {
  let last = cpu(pid)
  let still = 0
  await waitFor('the server to go quiet', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = cpu(pid)
    still = now - last < 0.02 ? still + 1 : 0
    last = now
    return still >= 5
  })
}

/** What another client saw while an attack ran: its slowest small file, and how many it had before the attack ended. */
export interface Meanwhile { slowest: number, answeredDuring: number }

/**
 * Small-file requests made one after another (100 ms apart) while `during` runs. How long they take
 * is a benchmark's figure (`npm run attack`, within 1 s idle), not a test's: a machine busy elsewhere
 * stretches it. What a test asserts is that they were answered while the attack was still going.
 */
export async function smallFileWhile (port: number, during: Promise<unknown>): Promise<Meanwhile> {
  const state = { done: false }
  const finished = during.finally(() => { state.done = true })
  const seen = { slowest: 0, answeredDuring: 0 }
  do {
    const began = Date.now()
    const res = await rawRequest(port, '/small.txt')
    if (res.statusCode !== 200) throw new Error(`small file: ${res.statusCode}`)
    seen.slowest = Math.max(seen.slowest, Date.now() - began)
    if (!state.done) seen.answeredDuring++
    // a pause between them, so that the server's own quiet can be told
    await new Promise((resolve) => setTimeout(resolve, 100))
  } while (!state.done)
  await finished
  return seen
}

/** Asserts that another client was served while the attack ran; says how long it took. */
export function servedMeanwhile (t: Test, seen: Meanwhile): void {
  t.ok(seen.answeredDuring > 0, `a small file answered during the attack (${seen.answeredDuring}; slowest ${seen.slowest} ms)`)
}
