import { randomBytes } from 'node:crypto';
import { canonicalUsername, usernameProblem } from '../normalize.js';

/**
 * Usernames to try for a user created from a provider, best first: the provider's hints, the
 * address's local part, the name; each canonicalised and held to the same rules as a typed one
 * (ID-02, ID-03), with the characters the rules refuse dropped. The caller tries them in order
 * against the taken names and skeletons (ID-04); the last ones carry a random suffix, so there
 * always is one more.
 */
export function usernameCandidates(hints: readonly string[], email: string | null, name: string | null): string[] {
  const bases: string[] = [];
  for (const raw of [...hints, email?.split('@')[0], name]) {
    if (!raw) continue;
    // NFKC first, then drop what is not a letter, mark, digit or . _ - (spaces become dots).
    const cleaned = raw
      .normalize('NFKC')
      .replace(/\s+/g, '.')
      .replace(/[^\p{L}\p{M}\p{Nd}._-]/gu, '')
      .replace(/^[._-]+|[._-]+$/g, '')
      .slice(0, 24);
    const canonical = canonicalUsername(cleaned);
    if (canonical.length >= 3 && usernameProblem(canonical) === null && !bases.includes(canonical)) bases.push(canonical);
  }
  if (bases.length === 0) bases.push('user');
  const out: string[] = [];
  for (const base of bases) out.push(base);
  const first = bases[0]!;
  for (let i = 2; i <= 4; i++) out.push(`${first}${i}`);
  for (let i = 0; i < 4; i++) out.push(`${first}-${randomBytes(3).toString('hex')}`);
  return out.filter((c) => usernameProblem(c) === null);
}
