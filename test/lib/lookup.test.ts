import t from 'tap'
import path from 'node:path'
import { lookup } from '../../lib/serve-dir/fs/lookup'

t.test('lookup walks segments and applies the policies', async (t) => {
  const root = t.testdir({ 'a.txt': 'a', sub: { 'b.txt': 'b' }, '.hidden': 'h', env: t.fixture('symlink', '.hidden'), link: t.fixture('symlink', 'sub') })
  t.equal(lookup(root, root, ['a.txt'], 'inside')?.path, path.join(root, 'a.txt'))
  t.equal(lookup(root, root, [], 'inside')?.path, root)
  t.equal(lookup(root, root, ['a.txt', 'x'], 'inside'), null, 'below a file')
  t.equal(lookup(root, root, ['missing', 'x'], 'inside'), null)
  t.equal(lookup(root, root, ['link', 'b.txt'], 'inside')?.path, path.join(root, 'sub', 'b.txt'), 'a link resolves to its real path')
  t.equal(lookup(root, root, ['link', 'b.txt'], 'deny'), null)
  t.equal(lookup(root, root, ['link', 'b.txt'], 'follow')?.path, path.join(root, 'link', 'b.txt'), 'follow keeps the logical path')
  t.equal(lookup(root, root, ['env'], 'inside', true), null, 'a visible link to a hidden file is hidden')
  t.equal(lookup(root, root, ['env'], 'inside', false)?.path, path.join(root, '.hidden'))
})

t.test('lookup from the file-system root', async (t) => {
  t.equal(lookup('/', '/', ['etc'], 'inside')?.path, '/etc')
})
