import { domainToASCII, domainToUnicode } from 'node:url';
import { canonicalUsername } from './username.js';
import { hasInvisible } from './text.js';

const LOCAL_PART = /^[^\s@\p{Cc}]{1,64}$/u;

/**
 * The comparison key of an email address, which is also what is stored (ID-01..03): the local part
 * folded exactly as usernames are (NFKC, full case folding), the domain through IDNA (UTS #46
 * mapping, which lower-cases and maps fullwidth dots), shown in Unicode, with one trailing dot
 * dropped: `base@example.test.` is `base@example.test` (the root label is implied either way).
 * Returns null when the domain is not a valid IDNA domain.
 */
export function canonicalEmail(value: string): string | null {
  const trimmed = value.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '').normalize('NFKC');
  const at = trimmed.lastIndexOf('@');
  if (at < 0) return null;
  const local = canonicalUsername(trimmed.slice(0, at));
  const domain = trimmed.slice(at + 1).replace(/\.$/, '');
  const ascii = domain === '' || domain.endsWith('.') ? '' : domainToASCII(domain);
  if (ascii === '') return null;
  return `${local}@${domainToUnicode(ascii)}`;
}

/** Why an email address is refused, or null. `raw` is checked too: IDNA silently drops invisibles. */
export function emailProblem(raw: string, canonical: string | null): string | null {
  if (hasInvisible(raw)) return 'must not contain invisible or text-direction characters';
  if (canonical === null || canonical.length > 254) return 'must be an email address';
  const at = canonical.lastIndexOf('@');
  const domain = canonical.slice(at + 1);
  if (!LOCAL_PART.test(canonical.slice(0, at)) || !domain.includes('.') || /[\s@\p{Cc}]/u.test(domain)) return 'must be an email address';
  return null;
}
