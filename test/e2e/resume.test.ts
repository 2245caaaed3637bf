// Real download tools against a real socket: resuming a cut download, and splitting one over
// several connections, must give back exactly the file's bytes.
import t, { type Test } from 'tap'
import path from 'node:path'
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { PATIENCE, serve } from '../helper'

const has = (tool: string): boolean => spawnSync(tool, ['--version']).status === 0
const SIZE = 8 * 1024 * 1024 + 12345 // bigger than what is kept in memory: served from disk

async function fixture (t: Test): Promise<{ url: string, data: Buffer, out: string }> {
  const data = randomBytes(SIZE)
  const root = t.testdir({ 'big.bin': data, out: {} })
  const app = await serve(t, root)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/big.bin`, data, out: path.join(root, 'out', 'big.bin') }
}

/** Runs a tool without blocking this process, which is also the server. */
async function run (cmd: string, args: string[]): Promise<void> {
  await promisify(execFile)(cmd, args, { timeout: PATIENCE })
}

t.test('curl -C - resumes a cut download', { skip: !has('curl') && 'no curl' }, async (t) => {
  const { url, data, out } = await fixture(t)
  writeFileSync(out, data.subarray(0, 3_000_000))
  await run('curl', ['-s', '-f', '-C', '-', '-o', out, url])
  t.ok(readFileSync(out).equals(data), 'the whole file, byte for byte')
})

t.test('wget -c resumes a cut download', { skip: !has('wget') && 'no wget' }, async (t) => {
  const { url, data, out } = await fixture(t)
  writeFileSync(out, data.subarray(0, 5_000_001))
  await run('wget', ['-q', '-c', '-O', out, url])
  t.ok(readFileSync(out).equals(data), 'the whole file, byte for byte')
})

t.test('aria2c splits a download over four connections', { skip: !has('aria2c') && 'no aria2c' }, async (t) => {
  const { url, data, out } = await fixture(t)
  await run('aria2c', ['-q', '-x4', '-s4', '-k1M', '--allow-overwrite=true', '-d', path.dirname(out), '-o', 'big.bin', url])
  t.ok(readFileSync(out).equals(data), 'the whole file, byte for byte')
})
