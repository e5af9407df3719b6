import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { JwsAlgorithm } from '../../src/core/auth/jws.js';

/**
 * An attacker's toolkit for the token tests. Tokens are forged here with node:crypto directly, so
 * the code under test never helps to make the tokens it is asked to refuse.
 */
export type RawKey = KeyObject | Buffer | string;

export const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url');
/** Base64url of the JSON of anything (objects, arrays, numbers, strings). */
export const b64json = (value: unknown): string => b64(JSON.stringify(value));
export const decode = (segment: string): Record<string, unknown> => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

/** An independent signer: what an attacker (or the server, for positive controls) would compute. */
export function rawSign(alg: JwsAlgorithm, key: RawKey, input: string): Buffer {
  const data = Buffer.from(input);
  switch (alg) {
    case 'HS256':
      return createHmac('sha256', key).update(data).digest();
    case 'EdDSA':
      return cryptoSign(null, data, key as KeyObject);
    case 'ES256':
      return cryptoSign('sha256', data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return cryptoSign('sha256', data, key as KeyObject);
  }
}

/** Compact JWS from already-encoded header and payload segments. */
export function forgeSegments(headerB64: string, payloadB64: string, alg: JwsAlgorithm, key: RawKey): string {
  const input = `${headerB64}.${payloadB64}`;
  return `${input}.${rawSign(alg, key, input).toString('base64url')}`;
}

/** Compact JWS with exactly this header (nothing is added or overridden). */
export function forge(header: Record<string, unknown>, payload: unknown, alg: JwsAlgorithm, key: RawKey): string {
  return forgeSegments(b64json(header), b64json(payload), alg, key);
}

/** A key pair (or secret) the attacker owns, with its public JWK. */
export interface AttackerKey {
  readonly signKey: RawKey;
  readonly jwk: Record<string, unknown>;
  readonly spkiDer: Buffer | null;
}

export function attackerKey(alg: JwsAlgorithm): AttackerKey {
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    return { signKey: secret, jwk: { kty: 'oct', k: b64(secret) }, spkiDer: null };
  }
  const pair =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    signKey: pair.privateKey,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), alg, use: 'sig', kid: 'attacker-key' },
    spkiDer: pair.publicKey.export({ type: 'spki', format: 'der' }),
  };
}
