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
 * A refresh token of a session's chain: `root.secret` when the session starts, `root.generation.secret`
 * after each rotation. Only the root has a row of its own (refresh_tokens); the session keeps the id
 * and the secret's hash of the current token, so a rotation is one compare-and-swap UPDATE and the
 * database does not grow with every refresh.
 */
export interface ChainToken {
  /** The 128-bit id of the session's first token: what a presented token is looked up by. */
  readonly root: string;
  /** 0 for the first token, then one more per rotation. */
  readonly generation: number;
  readonly secret: string;
}

const CHAIN = /^([A-Za-z0-9_-]{22})(?:\.([1-9][0-9]{0,8}))?\.([A-Za-z0-9_-]{43})$/;
const CHAIN_ID = /^([A-Za-z0-9_-]{22})(?:\.([1-9][0-9]{0,8}))?$/;

export function firstChainToken(): ChainToken {
  return { root: randomToken(16), generation: 0, secret: randomToken(32) };
}

/** The token's id as the session stores it: the root, with the generation after the first rotation. */
export function chainTokenId(token: Pick<ChainToken, 'root' | 'generation'>): string {
  return token.generation === 0 ? token.root : `${token.root}.${token.generation}`;
}

export function formatChainToken(token: ChainToken): string {
  return `${chainTokenId(token)}.${token.secret}`;
}

/** A presented refresh token; a token of the form every earlier release issued (`id.secret`) reads as a root. */
export function parseChainToken(token: string): ChainToken | null {
  const match = CHAIN.exec(token);
  return match ? { root: match[1]!, generation: match[2] ? Number(match[2]) : 0, secret: match[3]! } : null;
}

/** The root and generation of a stored token id (null for ids of earlier releases' rotated tokens). */
export function parseChainId(id: string): Pick<ChainToken, 'root' | 'generation'> | null {
  const match = CHAIN_ID.exec(id);
  return match ? { root: match[1]!, generation: match[2] ? Number(match[2]) : 0 } : null;
}

/**
 * The successor of a token is derived from it with a server-side key. Two tabs that refresh with the
 * same token therefore compute the same successor, and the one that loses the race can be handed what
 * the winner stored. Without the key, a stolen parent does not reveal it; without a presented token,
 * the key and the database together do not either (only hashes of secrets are stored).
 */
export function deriveNext(token: ChainToken, key: Buffer): ChainToken {
  const secret = createHmac('sha256', key)
    .update(`secret\0${chainTokenId(token)}.${token.secret}`)
    .digest()
    .subarray(0, 32)
    .toString('base64url');
  return { root: token.root, generation: token.generation + 1, secret };
}
