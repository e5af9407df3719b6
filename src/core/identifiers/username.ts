import { bidiClassOf, foldCase, prototypeOf } from './tables.js';
import { hasInvisible } from './text.js';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;

const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

/**
 * PRECIS IdentifierClass "LetterDigits" (RFC 8264 §9.1: Ll Lu Lo Lm Nd Mn Mc), so letters of every
 * script with their combining marks (`अनिल1`, `தமிழ்1`), plus the three ASCII punctuation marks
 * this service has always allowed. The first character must not be a mark: it would sit on
 * whatever is shown before the name.
 */
const REPERTOIRE = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}][\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}_.-]*$|^[_.-][\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}_.-]*$/u;

/**
 * What IdentifierClass refuses although LetterDigits would take it: RFC 5892 §2.6 DISALLOWED
 * exceptions (tatweel, NKo lajanyalan, Hangul tone marks, vertical kana repeat marks), conjoining
 * Hangul jamo left over after NFC (§9.10 OldHangulJamo), unassigned code points, and the
 * default-ignorables (§9.13) that are letters or marks (Hangul fillers, variation selectors).
 */
const DISALLOWED = /[\u0640\u07fa\u302e\u302f\u3031-\u3035\u303b\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\p{Cn}\p{Default_Ignorable_Code_Point}]/u;

/**
 * The canonical form of a username, which is what is stored, compared and shown (ID-01, ID-02):
 * PRECIS UsernameCaseMapped (RFC 8265 §3.3) with NFKC in place of its width-mapping step. NFKC maps
 * fullwidth forms as width mapping does, and also the other compatibility characters (the Kelvin
 * sign, ligatures), which PRECIS would refuse (HasCompat): mapped, they can never make a second
 * account, and ID-01 has always accepted them. Then Unicode full case folding (not toLowerCase: `ς`
 * and `σ` are one letter) and NFKC again, repeated until nothing changes (folding can produce text
 * NFKC maps further), which leaves the NFC form the profile asks for.
 */
export function canonicalUsername(value: string): string {
  let current = value.replace(EDGE_SPACE, '').normalize('NFKC');
  for (let i = 0; i < 4; i++) {
    const next = foldCase(current).normalize('NFKC');
    if (next === current) break;
    current = next;
  }
  return current;
}

/** Why a canonical username is refused, or null when it is acceptable. */
export function usernameProblem(canonical: string): string | null {
  if (hasInvisible(canonical)) return 'must not contain invisible or text-direction characters';
  const length = [...canonical].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX || !REPERTOIRE.test(canonical)) {
    return `must be ${USERNAME_MIN} to ${USERNAME_MAX} letters (with their marks), digits, "_", "." or "-"`;
  }
  if (DISALLOWED.test(canonical)) return 'must not contain unassigned or disallowed characters';
  if (!arabicIndicDigitsConsistent(canonical)) return 'must not mix Arabic-Indic and extended Arabic-Indic digits';
  return bidiRuleProblem(canonical);
}

/** RFC 5892 Appendix A.8/A.9 (CONTEXTO): the two Arabic-Indic digit sets are not mixed. */
function arabicIndicDigitsConsistent(value: string): boolean {
  return !(/[\u0660-\u0669]/.test(value) && /[\u06f0-\u06f9]/.test(value));
}

const RTL = new Set(['R', 'AL', 'AN']);
const RTL_ALLOWED = new Set(['R', 'AL', 'AN', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);
const RTL_END = new Set(['R', 'AL', 'EN', 'AN']);

/**
 * The Bidi Rule (RFC 5893 §2), which RFC 8265 applies to usernames holding right-to-left
 * characters: such a name must show the same whatever surrounds it, so that `abc` + Hebrew and a
 * different name cannot render identically. Left-to-right-only names are not constrained.
 */
function bidiRuleProblem(value: string): string | null {
  const classes = [...value].map((char) => bidiClassOf(char.codePointAt(0)!));
  if (!classes.some((c) => RTL.has(c))) return null;
  const problem = 'must follow the Bidi Rule (RFC 5893): start with a right-to-left letter and mix no left-to-right letters';
  if (classes[0] !== 'R' && classes[0] !== 'AL') return problem;
  if (!classes.every((c) => RTL_ALLOWED.has(c))) return problem;
  const last = [...classes].reverse().find((c) => c !== 'NSM');
  if (last === undefined || !RTL_END.has(last)) return problem;
  if (classes.includes('EN') && classes.includes('AN')) return problem;
  return null;
}

/**
 * ID-04: the UTS #39 skeleton (§4: NFD, drop default-ignorables, each character to its
 * confusables.txt prototype, NFD again). Two usernames with one skeleton look alike (`аlex` with a
 * Cyrillic а, `alex`), so the second is refused: the threat is impersonation of an existing user.
 */
export function usernameSkeleton(canonical: string): string {
  let out = '';
  for (const char of canonical.normalize('NFD')) {
    if (hasInvisible(char)) continue;
    out += prototypeOf(char);
  }
  return out.normalize('NFD');
}
