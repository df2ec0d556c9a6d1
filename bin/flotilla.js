#!/usr/bin/env node
// Entry point of the `flotilla` command. The TypeScript sources are compiled to dist/ by
// `npm run build` (which `npm ci` runs through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('flotilla: not built yet; run `npm run build` in the flotilla checkout first');
  process.exit(1);
}
await import(main);
