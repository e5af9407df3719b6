import { randomInt } from 'node:crypto';
import { keyedHash } from '../email/tokens.js';

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
 * What is stored of a code: HMAC-SHA256 under a server key of the user id and the code's canonical
 * form (no dashes or spaces, upper case). MFA-03: keyed and bound to the user, so a dumped table
 * cannot be searched offline without the key, and one guess tests one user's codes, not everyone's.
 */
export function hashRecoveryCode(key: Buffer, userId: string, code: string): string {
  const canonical = code.replace(/[\s-]/g, '').toUpperCase();
  return keyedHash(key, 'recovery_code', `${userId}:${canonical}`);
}
