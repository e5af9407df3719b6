import { BIDI_CLASSES, CASE_FOLDING, CONFUSABLES } from './unicode-data.generated.js';

/** Decodes the generated `cp:mapping` lists into a map from code point to replacement text. */
function decodeMap(encoded: string): ReadonlyMap<number, string> {
  const map = new Map<number, string>();
  for (const entry of encoded.split(';')) {
    const [from, to] = entry.split(':') as [string, string];
    map.set(parseInt(from, 16), String.fromCodePoint(...to.split(',').map((h) => parseInt(h, 16))));
  }
  return map;
}

/** Sorted, non-overlapping [start, end, class] ranges: one binary search per code point. */
function decodeRanges(): readonly (readonly [number, number, string])[] {
  return Object.entries(BIDI_CLASSES)
    .flatMap(([cls, ranges]) =>
      ranges.split(',').map((range) => {
        const [start, end = start] = range.split('-') as [string, string?];
        return [parseInt(start, 16), parseInt(end, 16), cls] as const;
      }),
    )
    .sort((a, b) => a[0] - b[0]);
}

// Decoded on first use: CLI commands that never touch an identifier do not pay for it at start.
let tables: { folding: ReadonlyMap<number, string>; prototypes: ReadonlyMap<number, string>; bidi: ReturnType<typeof decodeRanges> } | undefined;
const decoded = () => (tables ??= { folding: decodeMap(CASE_FOLDING), prototypes: decodeMap(CONFUSABLES), bidi: decodeRanges() });

/**
 * Unicode full default case folding (CaseFolding.txt, statuses C and F): `ß` → `ss`, final `ς` →
 * `σ`, the Kelvin sign → `k`, `İ` → `i̇`. Unlike toLowerCase it is locale-free and made for
 * comparing strings without regard to case.
 */
export function foldCase(value: string): string {
  const { folding } = decoded();
  let out = '';
  for (const char of value) out += folding.get(char.codePointAt(0)!) ?? char;
  return out;
}

/** The Bidi_Class of a code point among those the Bidi Rule names, or 'other'. */
export function bidiClassOf(cp: number): string {
  const { bidi } = decoded();
  let lo = 0;
  let hi = bidi.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end, cls] = bidi[mid]!;
    if (cp < start) hi = mid - 1;
    else if (cp > end) lo = mid + 1;
    else return cls;
  }
  return 'other';
}

/** The UTS #39 prototype a code point is confusable with (itself when it is in no set). */
export function prototypeOf(char: string): string {
  return decoded().prototypes.get(char.codePointAt(0)!) ?? char;
}
