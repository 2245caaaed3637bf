#!/usr/bin/env node
// npm run start:workers: fastify-cli's `fastify start` in N processes sharing the port (lib/workers.ts).
//   node dist/bin/workers.js [-w N] start -o -l info dist/app.js [-- --root DIR]
import '../lib/compile-cache'
import { parseWorkers, runCluster } from '../lib/workers'

const { workers, rest } = parseWorkers(process.argv.slice(2))
// eslint-disable-next-line no-void
void runCluster({ workers, exec: require.resolve('fastify-cli/cli.js'), args: rest }).then((code) => process.exit(code))
