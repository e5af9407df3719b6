import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Vitest global setup: the hosted pages (dist/web) are built once, before any test file runs, when
 * they are missing or older than web/ (a fresh clone, an edited page). Once, because test files
 * run in parallel and two builds into one folder would race.
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '../..');
  execFileSync(process.execPath, [join(root, 'scripts/build-if-needed.mjs'), '--web'], { stdio: 'inherit', cwd: root, timeout: 180_000 });
}
