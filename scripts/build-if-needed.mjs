// `npm start` calls this: compile src/ when dist/ is missing or older than any source file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);

const marker = join(root, 'dist/cli/main.js');
if (!existsSync(marker) || statSync(marker).mtimeMs < newest(join(root, 'src'))) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  console.error('gatehouse: compiling TypeScript (dist/ is missing or stale)…');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
}
