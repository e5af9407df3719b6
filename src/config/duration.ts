const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `900s`, `15m`, `30d` or a bare number of seconds into milliseconds.
 * Returns null for anything else, so the caller can list it among the configuration problems.
 */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * UNITS[match[2] ?? 's']!;
  return Number.isFinite(value) ? Math.round(value) : null;
}
