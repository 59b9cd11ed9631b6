#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `pullwright` works right after
// `npm ci`, without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../worker/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
