import { createHash, timingSafeEqual } from 'node:crypto';

// RFC 7636 §4.1: 43 to 128 unreserved characters; §4.2: the S256 challenge is 32 bytes, base64url.
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Whether `challenge` has the shape of an S256 challenge (a SHA-256, base64url, unpadded). */
export function isS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

/** OIDC-01: the verifier matches the S256 challenge of the authorization request. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!VERIFIER.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
