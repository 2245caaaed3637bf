import t from 'tap'
import { Slots } from '../../lib/serve-dir/slots'
import { ClientGoneError } from '../../lib/serve-dir/errors'

const never = new AbortController().signal

t.test('slots: a few at once, a bounded line, a bounded wait, and a client gone leaves the line', async (t) => {
  const slots = new Slots('things', 2, 2, 200)
  const a = await slots.take(never)
  const b = await slots.take(never)
  const leaving = new AbortController()
  const c = slots.take(never)
  const d = slots.take(leaving.signal)
  await t.rejects(slots.take(never), { code: 'FST_SERVE_DIR_TOO_BUSY', statusCode: 503, message: 'Too many things in progress; try again shortly' }, 'the line is full')
  leaving.abort(new ClientGoneError())
  await t.rejects(d, { code: 'FST_SERVE_DIR_CLIENT_GONE' }, 'gone while waiting')
  const e = slots.take(never)
  a()
  a() // a second give-back is ignored: it must not free a slot someone else holds
  const cRelease = await c
  t.equal(typeof cRelease, 'function', 'the next in line gets the slot given back')
  await t.rejects(e, { code: 'FST_SERVE_DIR_TOO_BUSY' }, 'waited too long')
  b()
  cRelease()
  const f = await slots.take(never)
  const g = await slots.take(never)
  await t.rejects(slots.take(AbortSignal.abort(new ClientGoneError())), { code: 'FST_SERVE_DIR_CLIENT_GONE' }, 'gone before asking')
  // gone in the same turn as the slot comes to it: it passes the slot on at once
  const late = new AbortController()
  const h = slots.take(late.signal)
  const i = slots.take(never)
  f()
  late.abort(new ClientGoneError())
  await t.rejects(h, { code: 'FST_SERVE_DIR_CLIENT_GONE' })
  t.equal(typeof await i, 'function', 'and the one after it has it')
  g()
})
