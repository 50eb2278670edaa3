#!/usr/bin/env node
// Entry shim: runs the TypeScript sources through tsx so `npm ci` is the only set-up step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/main.ts');
await main(process.argv.slice(2));
