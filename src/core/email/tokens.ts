import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';

// A link token has the refresh token's form, `id.secret` (128-bit id, 256-bit secret, base64url).
export {
  newRefreshToken as newLinkToken,
  formatRefreshToken as formatLinkToken,
  parseRefreshToken as parseLinkToken,
  type RefreshTokenParts as LinkTokenParts,
} from '../auth/refresh-tokens.js';

/**
 * Keyed hash of a secret or a code (EMAIL-01). A six-digit code hashed without a key could be
 * found from a stolen database in a million tries; with the server's key it cannot.
 */
export function keyedHash(key: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url');
}

export function hashesMatch(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Six digits, uniformly drawn. */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * Binds a token to the password the user had when it was issued: when the password changes, so
 * does this, and the token stops working (EMAIL-01).
 */
export function passwordFingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 22);
}
