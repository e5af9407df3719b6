import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../ids.js';

/** A refresh token as the client holds it: `id.secret`. */
export interface RefreshTokenParts {
  readonly id: string;
  readonly secret: string;
}

// 128-bit id, 256-bit secret, both base64url (SES-05).
const FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(): RefreshTokenParts {
  return { id: randomToken(16), secret: randomToken(32) };
}

export function formatRefreshToken(parts: RefreshTokenParts): string {
  return `${parts.id}.${parts.secret}`;
}

export function parseRefreshToken(token: string): RefreshTokenParts | null {
  const match = FORMAT.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The successor of a refresh token is derived from it with a server-side key. Two tabs that
 * refresh with the same token therefore compute the same successor, and the one that loses the
 * race can be handed what the winner stored. Without the key, a stolen parent does not reveal it.
 */
export function deriveSuccessor(parent: RefreshTokenParts, key: Buffer): RefreshTokenParts {
  const derive = (label: string, bytes: number) => createHmac('sha256', key).update(`${label}\0${parent.id}.${parent.secret}`).digest().subarray(0, bytes).toString('base64url');
  return { id: derive('id', 16), secret: derive('secret', 32) };
}
