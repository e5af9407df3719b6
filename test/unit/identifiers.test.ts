import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PasswordPolicy } from '../../src/core/auth/password-policy.js';
import { ValidationError } from '../../src/core/errors.js';
import { foldCase } from '../../src/core/identifiers/tables.js';
import { CONFUSABLES_VERSION, UCD_VERSION } from '../../src/core/identifiers/unicode-data.generated.js';
import {
  canonicalEmail,
  canonicalUsername,
  displayNameProblem,
  emailProblem,
  isWellFormed,
  normalizeIdentifier,
  usernameProblem,
  usernameSkeleton,
} from '../../src/core/normalize.js';
// @ts-expect-error: a plain .mjs script without types
import { generate } from '../../scripts/generate-unicode-tables.mjs';

const accepted = (raw: string) => usernameProblem(canonicalUsername(raw)) === null;
const same = (a: string, b: string) => canonicalUsername(a) === canonicalUsername(b);

describe('the generated Unicode tables', () => {
  it('are what the generator makes from the installed data packages (regenerate after a bump)', () => {
    const committed = readFileSync(new URL('../../src/core/identifiers/unicode-data.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generate());
    expect(UCD_VERSION).toBe('17.0.0');
    expect(CONFUSABLES_VERSION).toBe('10.0.0');
  });
});

describe('ID-02: Unicode case folding (PRECIS UsernameCaseMapped)', () => {
  it.each([
    ['final and medial sigma', 'xοδος', 'xοδοσ'],
    ['capital sigma', 'XΟΔΟΣ', 'xοδος'],
    ['sharp s (full folding)', 'straße', 'STRASSE'],
    ['capital sharp s', 'STRAẞE', 'strasse'],
    ['Kelvin sign (ID-01)', '\u212Aate', 'kate'],
    ['fullwidth (ID-01)', 'ＡＬＩＣＥ', 'alice'],
    ['Turkish dotted capital I', 'İpek', 'i\u0307pek'],
    ['Cherokee (folds to upper case)', 'ᏣᎳᎩ', 'ꮳꮃꭹ'],
    ['Deseret (outside the BMP)', '𐐀𐐁𐐂', '𐐨𐐩𐐪'],
    ['decomposed é', 'rene\u0301', 'René'],
    ['surrounding white space', '\u3000alice\u00a0', 'alice'],
  ])('%s: one key', (_label, a, b) => {
    expect(same(a, b)).toBe(true);
    expect(accepted(a)).toBe(true);
  });

  it('folds where toLowerCase does not', () => {
    expect('ς'.toLowerCase()).toBe('ς');
    expect(foldCase('ς')).toBe('σ');
    expect(foldCase('ß')).toBe('ss');
    // Cherokee folds to its capitals, the older letters.
    expect(foldCase('ꮳ')).toBe('Ꮳ');
    expect(foldCase('\u212A')).toBe('k');
  });

  it('keeps different names different', () => {
    expect(same('alice', 'alicf')).toBe(false);
    expect(same('ipek', 'İpek')).toBe(false);
  });

  it.each([
    ['Devanagari with vowel signs and virama', 'अनिल1'],
    ['Tamil with virama', 'தமிழ்1'],
    ['Bengali with Bengali digit', 'অনিল১'],
    ['Turkish', 'İpek'],
    ['Greek', 'Ὀδυσσεύς'],
    ['Thai with marks', 'สมชาย1'],
    ['Hebrew (right to left, digits at the end)', 'שלום1'],
    ['Arabic', 'محمد'],
    ['Han', '张伟华'],
    ['Hangul syllables', '김민준'],
    ['Latin with punctuation', 'j.doe_-1'],
  ])('accepts %s: %s', (_label, name) => {
    expect(usernameProblem(canonicalUsername(name))).toBeNull();
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(33)],
    ['space inside', 'a b c'],
    ['a symbol', 'a+bc'],
    ['an emoji', 'ab😀'],
    ['a leading combining mark', '\u0301abc'],
    ['Arabic tatweel (RFC 5892 DISALLOWED)', 'مـحمد'],
    ['a leftover Hangul jamo', '\u1100\u1100\u1100'],
    ['mixed directions (Bidi Rule)', 'abcשלום'],
    ['right to left, ending in a left-to-right letter', 'שלוםa'],
    ['both Arabic-Indic digit sets', 'محمد\u0661\u06f1'],
    ['an unassigned code point', 'abc\u0378'],
  ])('refuses %s', (_label, name) => {
    expect(usernameProblem(canonicalUsername(name))).not.toBeNull();
  });
});

describe('ID-03: invisible and direction characters', () => {
  const invisible = [
    ['U+200B zero width space', '\u200b'],
    ['U+200C zero width non-joiner', '\u200c'],
    ['U+200D zero width joiner', '\u200d'],
    ['U+2060 word joiner', '\u2060'],
    ['U+00AD soft hyphen', '\u00ad'],
    ['U+202E right-to-left override', '\u202e'],
    ['U+202A left-to-right embedding', '\u202a'],
    ['U+2066 left-to-right isolate', '\u2066'],
    ['U+2068 first strong isolate', '\u2068'],
    ['U+2069 pop directional isolate', '\u2069'],
    ['U+200E left-to-right mark', '\u200e'],
    ['U+FEFF byte order mark', '\ufeff'],
    ['U+180E Mongolian vowel separator', '\u180e'],
    ['U+034F combining grapheme joiner', '\u034f'],
    ['U+FE0F variation selector', '\ufe0f'],
    ['U+3164 Hangul filler', '\u3164'],
    ['U+E0041 tag letter', '\u{e0041}'],
  ] as const;

  it.each(invisible)('%s: refused in a username, an email and a display name', (_label, char) => {
    for (const name of [`al${char}ex`, `alex${char}`, `${char}alex`]) {
      expect(usernameProblem(canonicalUsername(name)), JSON.stringify(name)).not.toBeNull();
      const email = `${name}@example.test`;
      expect(emailProblem(email, canonicalEmail(email))).not.toBeNull();
      expect(displayNameProblem(`Al ${name}`)).not.toBeNull();
    }
    const domain = `alex@exa${char}mple.test`;
    expect(emailProblem(domain, canonicalEmail(domain))).not.toBeNull();
  });

  it('display names keep recommended emoji sequences, joiners and all, and refuse a joiner anywhere else', () => {
    for (const ok of ['Ann 👩\u200d💻', 'Ann ❤\ufe0f', 'Ann 👍🏽', '🏳\ufe0f\u200d🌈 Ann', 'Ann 🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}', 'Zoë Ål']) {
      expect(displayNameProblem(ok), JSON.stringify(ok)).toBeNull();
    }
    for (const bad of ['A\u200dB', 'Ann\u200d', '👩\u200d', '\u200d💻', 'Ann \ufe0f', 'Ann \u{e0067}']) {
      expect(displayNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
    }
  });

  it.each([
    ['trailing dot', 'base@example.test.', 'base@example.test'],
    ['upper case domain and trailing dot', 'Base@EXAMPLE.Test.', 'base@example.test'],
    ['fullwidth full stop in the domain', 'base@example\uff0etest', 'base@example.test'],
    ['IDN in its ASCII form', 'a@xn--bcher-kva.example', 'a@bücher.example'],
    ['IDN in capitals', 'a@BÜCHER.example', 'a@bücher.example'],
    ['local part sigma', 'ΟΔΟΣ@example.test', 'οδοσ@example.test'],
  ])('email %s: one key', (_label, raw, key) => {
    expect(canonicalEmail(raw)).toBe(key);
    expect(emailProblem(raw, canonicalEmail(raw))).toBeNull();
    expect(normalizeIdentifier(raw)).toBe(key);
  });

  it.each(['base@example.test..', 'base@', 'base@.', 'base@exa mple.test', 'no-at-sign', 'a@localhost', 'a@xn--zz.example'])('refuses the email %s', (raw) => {
    expect(emailProblem(raw, canonicalEmail(raw))).not.toBeNull();
  });
});

describe('ID-04: UTS #39 skeletons', () => {
  const skeleton = (name: string) => usernameSkeleton(canonicalUsername(name));
  it.each([
    ['Cyrillic а', '\u0430lex', 'alex'],
    ['Cyrillic о and е', 'b\u043eb\u0435', 'bobe'],
    ['Greek ο', 'b\u03bfb', 'bob'],
    ['digit one and letter l', 'paypa1', 'paypal'],
    ['rn and m', 'rnary', 'mary'],
    ['Cyrillic in capitals', '\u0410LEX', 'alex'],
  ])('%s: one skeleton', (_label, a, b) => {
    expect(canonicalUsername(a)).not.toBe(canonicalUsername(b));
    expect(skeleton(a)).toBe(skeleton(b));
  });

  it('different names keep different skeletons', () => {
    expect(skeleton('alex')).not.toBe(skeleton('alec'));
    expect(skeleton('anil')).not.toBe(skeleton('अनिल'));
  });
});

describe('ID-05: well-formed Unicode', () => {
  it('a lone surrogate is not well-formed; a pair is', () => {
    expect(isWellFormed('pass\ud800word')).toBe(false);
    expect(isWellFormed('pass\udc00word')).toBe(false);
    expect(isWellFormed('pass\ud83d\ude00word')).toBe(true);
    expect(isWellFormed('plain')).toBe(true);
  });

  it('ID-05: the password policy itself refuses a lone surrogate (the CLI and bootstrap reach it without HTTP)', () => {
    const policy = new PasswordPolicy();
    expect(() => policy.check('pass\ud800word-long', 'password')).toThrow(ValidationError);
    expect(() => policy.check('pass\ufffdword-long', 'password')).not.toThrow();
  });
});
