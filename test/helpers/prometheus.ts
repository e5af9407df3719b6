import { spawnSync } from 'node:child_process';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { namingProblems } from '../../src/metrics.js';

/**
 * Problems with a Prometheus text exposition: parsed by an independent parser of the format, then
 * every family checked for TYPE, HELP, duplicates and the naming rules promtool enforces.
 */
export function expositionProblems(text: string): { families: number; problems: string[] } {
  const families = parsePrometheusTextFormat(text);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (seen.has(family.name)) problems.push(`${family.name}: appears twice`);
    seen.add(family.name);
    if (family.type === 'UNTYPED') problems.push(`${family.name}: no TYPE line`);
    problems.push(...namingProblems(family.name, family.type, family.help ?? '').map((p) => `${family.name}: ${p}`));
  }
  return { families: families.length, problems };
}

/** `promtool check metrics` on the text, or null when promtool is not installed. */
export function promtool(text: string): { status: number | null; output: string } | null {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
