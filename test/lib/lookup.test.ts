import t from 'tap'
import path from 'node:path'
import { readEntries } from '../../lib/serve-dir/lookup'

t.test('readEntries: a folder that is gone is null, not an empty listing', async (t) => {
  const root = t.testdir({ 'a.txt': 'a' })
  t.equal(await readEntries(root, path.join(root, 'gone'), 'inside', false), null)
  t.equal(await readEntries(root, path.join(root, 'a.txt'), 'inside', false), null, 'a file is no folder')
  t.same((await readEntries(root, root, 'inside', false))?.map((e) => e.name), ['a.txt'])
})
