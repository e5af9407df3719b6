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

const FOLDING = decodeMap(CASE_FOLDING);
const PROTOTYPES = decodeMap(CONFUSABLES);

/** Sorted, non-overlapping [start, end, class] ranges: one binary search per code point. */
const BIDI: readonly (readonly [number, number, string])[] = Object.entries(BIDI_CLASSES)
  .flatMap(([cls, ranges]) =>
    ranges.split(',').map((range) => {
      const [start, end = start] = range.split('-') as [string, string?];
      return [parseInt(start, 16), parseInt(end, 16), cls] as const;
    }),
  )
  .sort((a, b) => a[0] - b[0]);

/**
 * Unicode full default case folding (CaseFolding.txt, statuses C and F): `ß` → `ss`, final `ς` →
 * `σ`, the Kelvin sign → `k`, `İ` → `i̇`. Unlike toLowerCase it is locale-free and made for
 * comparing strings without regard to case.
 */
export function foldCase(value: string): string {
  let out = '';
  for (const char of value) out += FOLDING.get(char.codePointAt(0)!) ?? char;
  return out;
}

/** The Bidi_Class of a code point among those the Bidi Rule names, or 'other'. */
export function bidiClassOf(cp: number): string {
  let lo = 0;
  let hi = BIDI.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end, cls] = BIDI[mid]!;
    if (cp < start) hi = mid - 1;
    else if (cp > end) lo = mid + 1;
    else return cls;
  }
  return 'other';
}

/** The UTS #39 prototype a code point is confusable with (itself when it is in no set). */
export function prototypeOf(char: string): string {
  return PROTOTYPES.get(char.codePointAt(0)!) ?? char;
}
