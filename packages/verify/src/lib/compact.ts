import { TokenInvalidError } from '../errors.js';

/** Longer than any access token Gatehouse issues by far; refusing early bounds the parsing work. */
export const MAX_TOKEN_LENGTH = 8192;

const ALPHABET = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Only the one canonical base64url spelling of each segment passes. Decoders ignore the unused low
 * bits of the last character (and padding, and `+/`), so without this a valid token has several
 * spellings that all verify: token malleability, which defeats any deny-list or cache keyed by the
 * token string.
 */
function isCanonicalSegment(segment: string): boolean {
  if (!ALPHABET.test(segment)) return false;
  const rest = segment.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = BASE64URL.indexOf(segment[segment.length - 1]!);
  // 2 chars carry 1 byte (4 spare bits), 3 chars carry 2 bytes (2 spare bits): spare bits must be 0.
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Refuses anything that is not a compact JWS of three canonical base64url segments. */
export function assertCompactJws(token: string): void {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenInvalidError('The access token is too long.');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every(isCanonicalSegment)) throw new TokenInvalidError('The access token is not a compact JWS.');
}
