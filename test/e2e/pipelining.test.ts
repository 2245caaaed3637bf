// Pipelining to a client that reads nothing, against the built command: its requests are answered
// one at a time, so it holds one answer (and one descriptor) however many it sent; a flood of them
// closes the connection. Bounded: fixed counts, every wait bounded (`PATIENCE`).
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { rawRequest, startCommand, waitFor } from '../helper'
import { servedMeanwhile, fds, quiet, rss, smallFileWhile } from './measure'

const root = t.testdir({ 'small.txt': 'small\n', 'big.bin': Buffer.alloc(4 * 1024 * 1024, 7) })

t.test('pipelined requests are answered one at a time: a client that reads nothing holds one answer, and one that sends thousands is cut off', async (t) => {
  const { child, port } = await startCommand(t, ['0', '-d', root, '-l', 'warn'])
  const pid = child.pid as number
  await rawRequest(port, '/small.txt')
  const before = { rss: rss(pid), fds: fds(pid) }
  const request = 'GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-65535\r\n\r\n'
  const pipelining = async (n: number): Promise<net.Socket> => {
    const s = net.connect(port, '127.0.0.1')
    t.teardown(() => s.destroy())
    s.on('error', () => {})
    await once(s, 'connect')
    s.pause()
    s.write(request.repeat(n))
    return s
  }
  // 500 answers of 64 KiB each, none read for now: before, every one was being made at once
  const patient = await pipelining(500)
  let peak = { rss: 0, fds: 0 }
  const meanwhile = await smallFileWhile(port, quiet(pid).then(() => { peak = { rss: rss(pid), fds: fds(pid) } }))
  t.ok(peak.fds <= before.fds + 4, `descriptors ${before.fds} -> ${peak.fds} while it reads nothing`)
  t.ok(peak.rss < before.rss + 64, `RSS ${before.rss.toFixed(0)} -> ${peak.rss.toFixed(0)} MiB`)
  servedMeanwhile(t, meanwhile)
  // and when it reads, every answer comes
  // counted by their status lines (the bodies are bytes 7, which never spell one); a line may be
  // split between two reads, so each read is searched with the end of the one before
  const status = 'HTTP/1.1 206'
  let answers = 0
  let carry = ''
  patient.setEncoding('latin1').on('data', (d: string) => {
    const text = carry + d
    answers += text.split(status).length - 1
    // too short to hold a whole status line: nothing is counted twice
    carry = text.slice(-(status.length - 1))
  })
  patient.resume()
  await waitFor('500 answers', () => answers >= 500)
  t.equal(answers, 500)
  // 20,000 at once (1.1 MB), more than a client that reads its answers ever has waiting: cut off
  const flood = await pipelining(20_000)
  // reset by the server: 'close' follows the error
  await new Promise((resolve) => flood.once('close', resolve))
  t.pass('the flooding connection was closed')
  await waitFor('descriptors back', () => fds(pid) <= before.fds + 1)
  t.equal((await rawRequest(port, '/small.txt')).statusCode, 200, 'still serving')
})
