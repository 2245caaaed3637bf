// Request targets that try to reach outside the served folder: read (test/e2e/traversal.test.ts)
// and written (test/lib/upload.test.ts) over a raw socket, where nothing normalises them first.
export const attacks = [
  '/../secret.txt', '/../../../../../../etc/passwd', '/../www-secret/secret.txt', '/..', '/../',
  '/sub/../../secret.txt', '/sub/..%2f..%2fsecret.txt', '//../secret.txt', '/./../secret.txt',
  '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt',
  '/%2e%2e%2fsecret.txt', '/..%2Fsecret.txt', '/%2e%2e%5csecret.txt', '/..%5csecret.txt',
  '/..\\secret.txt', '/\\..\\secret.txt', '/sub\\..\\..\\secret.txt',
  '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt',
  '/%c0%ae%c0%ae/secret.txt', '/%c0%af', '/%e0%80%ae%e0%80%ae/secret.txt',
  '/a.txt%00.html', '/%00', '/..%00/secret.txt',
  '/www-secret/secret.txt', '/../www-secret/', '/link-out', '/link-out-dir/secret.txt', '/link-out-dir/',
  '/link-root/etc/passwd', '/.env', '/%2eenv', '/sub/%2e%2e/%2e%2e/secret.txt',
  '/C:/Windows/win.ini', '/C:%5CWindows%5Cwin.ini', '//etc/passwd', '///etc/passwd',
  'http://localhost/../secret.txt', '*'
]
