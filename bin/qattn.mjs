#!/usr/bin/env node
// Launcher for the qattn CLI. qattn ships TypeScript sources (no build step), so the tsx loader is registered
// first and the CLI is imported dynamically — a static import would be resolved before the loader exists.
import { register } from 'tsx/esm/api';

register();
const { guardStdout } = await import('../cli/args.ts');
guardStdout();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
