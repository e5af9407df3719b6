import { createRequire } from 'node:module';

interface Match {
  readonly i: number;
  readonly j: number;
}
interface Zxcvbn {
  match(text: string): readonly Match[];
  /** log2 of the guesses zxcvbn's model needs for this match. */
  cost(match: Match, text: string): number;
}

let estimator: Zxcvbn | null = null;
/**
 * zxcvbn-ts's matchers with its common and English dictionaries (leaked passwords, names, Wikipedia
 * and film words), keyboard graphs, sequences, repeats and dates. Loaded on first use only (about
 * 200 ms and a few MB), since only an HS256 deployment needs it. l33t substitution search is off:
 * it costs half a second on a long random string, and l33t words still show their structure.
 *
 * Its matches and their guess counts are used, not its final score: zxcvbn prices characters it
 * does not recognise at 10 guesses each (a password's digits), which makes short words cheaper to
 * leave unrecognised than a random base64 character is, and random text look no better than prose.
 * The pinned version's matcher and estimator are reached directly for that (package.json pins it).
 */
function zxcvbn(): Zxcvbn {
  if (estimator) return estimator;
  const require = createRequire(import.meta.url);
  const { ZxcvbnFactory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const estimate = require('@zxcvbn-ts/core/dist/scoring/estimate.cjs') as (options: unknown, match: Match, text: string) => { guesses: number };
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  const factory = new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    l33tMaxSubstitutions: 0,
    maxLength: 1024,
  }) as unknown as { matching: { match(text: string): Match[] }; options: unknown };
  estimator = {
    match: (text) => factory.matching.match(text),
    cost: (match, text) => Math.log2(estimate(factory.options, match, text).guesses),
  };
  return estimator;
}

/**
 * Bits a guesser still needs for `text`: the cheapest cover of it by recognised pieces (each costs
 * log2 of its guesses) and single unrecognised characters (each costs `perCharacter`).
 */
function guessBits(text: string, perCharacter: number): number {
  const z = zxcvbn();
  const endingAt = new Map<number, Match[]>();
  for (const match of z.match(text)) endingAt.set(match.j, [...(endingAt.get(match.j) ?? []), match]);
  const best = [0];
  for (let j = 0; j < text.length; j++) {
    let cheapest = best[j]! + perCharacter;
    for (const match of endingAt.get(j) ?? []) cheapest = Math.min(cheapest, best[match.i]! + z.cost(match, text));
    best.push(cheapest);
  }
  return best[text.length]!;
}

/** A random secret must carry at least this many bits by how it is written. */
export const MIN_SECRET_BITS = 256;
/**
 * Share of those bits that must survive a guesser's model. Of 900 random secrets (hex, base64,
 * base64url; 32 and 48 bytes) none kept less than 0.70 (a random string holds the odd short word or
 * run by chance); the human secrets in the tests keep 0.34 or less, however long, because each
 * added word costs a guesser only its rank.
 */
export const MIN_UNPREDICTABLE_SHARE = 0.5;
/** And never fewer than this many bits to guess, whatever the length (0.70 of 256, as above). */
export const MIN_GUESS_BITS = 0.7 * MIN_SECRET_BITS;

/** How many bits a character of `text` can carry, judged from the alphabet it is written in. */
function bitsPerCharacter(text: string): number {
  if (/^[0-9a-f]+$/i.test(text)) return 4;
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return 6;
  return Math.log2(95);
}

/** Bytes behind a hex or base64(url) string, when it is one; else null. */
function decoded(text: string): Buffer | null {
  if (/^([0-9a-f]{2})+$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) || /^[A-Za-z0-9_-]+$/.test(text)) return Buffer.from(text.replace(/=+$/, ''), /[-_]/.test(text) ? 'base64url' : 'base64');
  return null;
}

/**
 * JWT-07 / JWT-12: an HMAC secret must be random, at least 256 bits of it. Two measures, both needed:
 * - capacity: what the string can carry as written (hex 4 bits a character, base64 6, other
 *   printable text about 6.6), at least 256 bits: 32 random bytes, encoded;
 * - unpredictability: the bits a guesser's model (zxcvbn: word lists, keyboard walks, alphabet
 *   runs, repeats, dates) still has to find, at least half of the capacity. A passphrase of common
 *   words is long but each word costs a guesser about log2(its rank) bits, not 6.6 per letter,
 *   so no length makes it pass (the six-word "my-super-secret-jwt-key-for-production-2024!" keeps
 *   a third). Encoded text (base64 of "my-super-secret…") is judged by the text it decodes to.
 * Returns why the secret is refused, or null.
 */
export function describeWeakSecret(secret: string): string | null {
  const bytes = decoded(secret);
  // Random bytes are almost never all printable; printable ones are text someone chose, encoded.
  if (bytes !== null && bytes.length >= 16 && bytes.every((b) => b >= 0x20 && b < 0x7f)) {
    const inner = describeWeakSecret(bytes.toString('latin1'));
    return inner === null ? null : `decodes to text that ${inner}`;
  }
  const capacity = Math.floor(secret.length * bitsPerCharacter(secret));
  if (capacity < MIN_SECRET_BITS) {
    return `carries at most ${capacity} bits; at least ${MIN_SECRET_BITS} random bits are required (e.g. 43 base64 or 64 hex characters)`;
  }
  const bits = guessBits(secret, bitsPerCharacter(secret));
  // Both a share and a floor: a short random part padded with filler keeps its share of a long
  // string's capacity while carrying far fewer than 256 random bits.
  if (bits < MIN_UNPREDICTABLE_SHARE * capacity || bits < MIN_GUESS_BITS) {
    return `is guessable text (words, keyboard walks, runs or repeats: a guesser needs about ${Math.round(bits)} bits, not ${capacity}), not random bytes`;
  }
  return null;
}
