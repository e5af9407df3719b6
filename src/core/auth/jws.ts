import { createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

export type JwsAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';

/** A key pinned to exactly one algorithm (JWT-01): the token's `alg` must match it. */
export interface JwsKey {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  /** KeyObject for asymmetric algorithms, the raw secret for HS256. */
  readonly key: KeyObject | Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class JwsError extends Error {}

/**
 * The signature of `data`. An asymmetric one is made on libuv's thread pool (crypto.sign with a
 * callback), not on the event loop: an Ed25519 signature is about 25-40 µs of CPU, the largest
 * single cost of a refresh, and every request waiting behind it waited for it. On the thread pool
 * the event loop goes on with other requests meanwhile: measured on POST /auth/refresh (2 cores,
 * the load generator on them too), 5,050-5,310 refreshes/s against 3,700-3,870 signing in line,
 * and no more CPU per refresh. An HMAC costs less than the hand-over, so it stays in line.
 */
function signature(alg: JwsAlgorithm, key: KeyObject | Buffer, data: Buffer): Promise<Buffer> {
  if (alg === 'HS256') return Promise.resolve(createHmac('sha256', key).update(data).digest());
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer): void => (error ? reject(error) : resolve(result));
    switch (alg) {
      case 'EdDSA':
        return sign(null, data, key as KeyObject, done);
      case 'ES256':
        return sign('sha256', data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }, done);
      case 'RS256':
        return sign('sha256', data, key as KeyObject, done);
    }
  });
}

function signatureValid(alg: JwsAlgorithm, key: KeyObject | Buffer, data: Buffer, sig: Buffer): boolean {
  switch (alg) {
    case 'HS256': {
      const expected = createHmac('sha256', key).update(data).digest();
      return sig.length === expected.length && timingSafeEqual(sig, expected);
    }
    case 'EdDSA':
      return sig.length === 64 && verify(null, data, key as KeyObject, sig);
    case 'ES256':
      // Fixed-length r||s; OpenSSL also refuses r = s = 0, the "psychic signature" (JWT-10).
      return sig.length === 64 && verify('sha256', data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }, sig);
    case 'RS256':
      return verify('sha256', data, key as KeyObject, sig);
  }
}

/**
 * JWT-11: one spelling per token. Base64url's last character may carry unused pad bits; decoders
 * ignore them, so 4 or 16 spellings of each token would verify and count as different tokens for
 * anything keyed by the token string (caches, deny lists, replay checks). Only the spelling that
 * re-encodes to itself (pad bits zero, no padding, only the alphabet) is accepted.
 */
function isCanonicalBase64url(segment: string): boolean {
  return BASE64URL.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Signs `payload` as a compact JWS with the given key; `kid` and `alg` come from the key. */
export async function signJws(key: JwsKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${encodeJson({ ...header, alg: key.alg, kid: key.kid })}.${encodeJson(payload)}`;
  return `${input}.${(await signature(key.alg, key.key, Buffer.from(input))).toString('base64url')}`;
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    throw new JwsError(`${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwsError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export interface VerifiedJws {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/**
 * Verifies a compact JWS against the caller's keys only. The key is chosen by `kid` from `keys`
 * (never fetched, never taken from the header: JWT-05/06), and the header's `alg` must be the one
 * that key is pinned to, so `none` and HS256-with-a-public-key are refused (JWT-01/02/04).
 * Throws JwsError for anything short of a valid signature; never any other error (JWT-09).
 */
export function verifyJws(token: string, keys: ReadonlyMap<string, JwsKey>): VerifiedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw new JwsError('token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwsError('token must have three segments');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  if (!parts.every(isCanonicalBase64url)) throw new JwsError('segments must be non-empty, canonical base64url');
  const header = decodeJsonObject(headerPart, 'header');
  if (typeof header.kid !== 'string') throw new JwsError('kid missing');
  const key = keys.get(header.kid);
  if (!key) throw new JwsError('unknown kid');
  if (header.alg !== key.alg) throw new JwsError('alg does not match the key');
  // A header we do not understand the critical parts of must be refused (RFC 7515 §4.1.11).
  if ('crit' in header) throw new JwsError('crit is not supported');
  const data = Buffer.from(`${headerPart}.${payloadPart}`);
  let valid: boolean;
  try {
    valid = signatureValid(key.alg, key.key, data, Buffer.from(signaturePart, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) throw new JwsError('signature invalid');
  return { header, payload: decodeJsonObject(payloadPart, 'payload') };
}
