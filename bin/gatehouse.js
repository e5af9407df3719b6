#!/usr/bin/env node
// Thin launcher so `npx gatehouse` works; builds first when run from a checkout without dist/.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'dist/cli/main.js'))) {
  execFileSync(process.execPath, [join(root, 'scripts/build-if-needed.mjs')], { stdio: 'inherit', cwd: root });
}
await import('../dist/cli/main.js');
