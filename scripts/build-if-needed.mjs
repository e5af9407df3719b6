// `npm start` calls this: compile src/ when dist/ is missing or older than any source file, and
// build the hosted pages (web/, with the client package they use) into dist/web the same way.
// `--web` builds only the pages (the test suite's global setup uses it).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
const stale = (marker, sources) => !existsSync(marker) || sources.some((dir) => existsSync(dir) && statSync(marker).mtimeMs < newest(dir));

const webOnly = process.argv.includes('--web');

const marker = join(root, 'dist/cli/main.js');
if (!webOnly && stale(marker, [join(root, 'src')])) {
  const tsc = require.resolve('typescript/bin/tsc');
  console.error('gatehouse: compiling TypeScript (dist/ is missing or stale)…');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
}

const page = join(root, 'dist/web/index.html');
if (stale(page, [join(root, 'web'), join(root, 'packages/client/src')])) {
  const vite = join(dirname(require.resolve('vite/package.json')), 'bin/vite.js');
  console.error('gatehouse: building the hosted pages (dist/web is missing or stale)…');
  execFileSync(process.execPath, [vite, 'build', '--config', join(root, 'web/vite.config.ts')], { stdio: 'inherit', cwd: root });
}
