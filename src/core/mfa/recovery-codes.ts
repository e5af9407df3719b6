import { createHash, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
// Crockford-style base32 without look-alikes (0/O, 1/I/L, U): 5 bits a character.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 12 characters of a 30-letter alphabet: 58.9 bits each (MFA-03 asks for at least 50). */
const LENGTH = 12;

/** Ten new recovery codes, `XXXX-XXXX-XXXX`, shown to the user once. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]!).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  });
}

/**
 * What is stored of a code: SHA-256 of its canonical form (no dashes or spaces, upper case). A
 * fast hash is enough: with 58 bits of randomness a stolen hash cannot be searched back (MFA-03).
 */
export function hashRecoveryCode(code: string): string {
  const canonical = code.replace(/[\s-]/g, '').toUpperCase();
  return createHash('sha256').update(`gatehouse-recovery:${canonical}`).digest('base64url');
}
