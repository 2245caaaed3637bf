#!/usr/bin/env node
// serve-dir [port] [--bind ADDRESS] [--directory DIRECTORY] ...: lib/command.ts is the command.
// First, for its side effect: Node >= 22.1 keeps compiled code on disk between starts.
import '../lib/compile-cache'
import { main } from '../lib/command'

// eslint-disable-next-line no-void
void main()
