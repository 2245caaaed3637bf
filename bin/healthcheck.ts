#!/usr/bin/env node
// The Docker image's HEALTHCHECK (lib/healthcheck.ts): node dist/bin/healthcheck.js [PID]
import '../lib/compile-cache'
import { main } from '../lib/healthcheck'

// eslint-disable-next-line no-void
void main(process.argv[2]).then((code) => process.exit(code))
