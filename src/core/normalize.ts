/**
 * ID-01: one person, one account. Identifiers are compared in a canonical form: NFKC folds
 * compatibility characters (fullwidth ａ, the Kelvin sign), lower-casing folds case, and the
 * second NFKC pass re-composes what lower-casing may have split.
 */
export function normalizeIdentifier(value: string): string {
  return value.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]{3,32}$/u;
export const EMAIL_PATTERN = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
