#!/usr/bin/env node
// The `fav` command. Runs the TypeScript sources through tsx (a dependency), so a fresh clone works
// after `npm install` with no build step for the CLI. The Electron app uses electron-vite's bundle.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main/cli/index.ts');
const code = await main(process.argv.slice(2));
// Serving commands resolve only after a clean shutdown; exit explicitly so no stray handle keeps us up.
process.exit(code);
