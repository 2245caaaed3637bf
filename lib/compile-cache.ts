// Imported first by the command and the app, for its side effect: on Node >= 22.1 compiled code is
// kept on disk between starts (in os.tmpdir()/node-compile-cache, or $NODE_COMPILE_CACHE), so every
// start after the first skips compiling the modules that load after this one. Node 20 has no such
// cache and goes on as before. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import nodeModule from 'node:module'

const { enableCompileCache } = nodeModule as { enableCompileCache?: () => unknown }
/* c8 ignore next 2 */ // never under coverage, which Node's docs say is less precise for cached code
if (process.env.NODE_V8_COVERAGE === undefined) enableCompileCache?.()
