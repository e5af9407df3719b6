/**
 * Characters nobody sees: format characters (zero-width space U+200B and joiners U+200C/U+200D,
 * word joiner U+2060, soft hyphen U+00AD, BOM U+FEFF, tags), direction overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069), other default-ignorables (variation selectors, Hangul fillers,
 * U+034F) and noncharacters. ID-03: they make a name that looks like another one, or reorder how
 * the rest of a page is shown.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u;

/** A lone surrogate, which no UTF-8 text can carry (in u-mode a valid pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Emoji as Unicode recommends them (RGI), ZWJ and variation-selector sequences included. */
const RGI_EMOJI = new RegExp('\\p{RGI_Emoji}', 'gv');

export function hasInvisible(value: string): boolean {
  return INVISIBLE.test(value);
}

/** ID-05: well-formed Unicode (what `String.prototype.isWellFormed` answers on Node 20). */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/**
 * ID-03 for display names: no invisible or direction characters, except inside a recommended
 * emoji sequence, where U+200D and U+FE0F are what joins `👩` + `💻` into one visible `👩‍💻`; a
 * joiner anywhere else (between letters, or a lone one) is refused.
 */
export function displayNameProblem(name: string): string | null {
  return hasInvisible(name.replace(RGI_EMOJI, '')) ? 'must not contain invisible or text-direction characters' : null;
}
