#!/usr/bin/env node
// `defectforge` from the source tree: registers the tsx loader, then runs src/cli/main.ts.
// Both are resolved from this file, so the command works from any current directory and
// without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli, processIO } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), processIO());
