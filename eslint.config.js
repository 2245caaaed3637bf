'use strict'

const globals = require('globals')

// the listing page's and live reload's scripts run in a browser, as a classic script: its globals, not Node's
const nodeOnly = Object.fromEntries(Object.keys(globals.node).filter((g) => !(g in globals.browser)).map((g) => [g, 'off']))

module.exports = [
  ...require('neostandard')({
    ts: true,
    // the type tests' CommonJS and ES-module files (types/*.tst.cts, *.tst.mts)
    filesTs: ['**/*.mts', '**/*.cts'],
    ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**', 'test-artifacts/**']
  }),
  {
    files: ['lib/serve-dir/*/assets/*.js'],
    languageOptions: {
      // ES5 on purpose: it runs in whatever browser a folder is opened in
      ecmaVersion: 5,
      sourceType: 'script',
      globals: { ...globals.browser, ...nodeOnly }
    },
    rules: { 'no-var': 'off' }
  }
]
