#!/usr/bin/env node
// The `rig` command: loads the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../harness/cli.ts');
await runCli(process.argv.slice(2));
