import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { SigningKey } from '../model.js';
import type { JwsKey } from './jws.js';

export type AsymmetricAlgorithm = SigningKey['alg'];

/** Public JWK as published in the JWKS. */
export interface PublicJwk extends Record<string, string> {
  kid: string;
  alg: string;
  use: 'sig';
}

/** RFC 7638 thumbprint: a kid that names the key itself, so all instances agree on it. */
function thumbprint(jwk: JsonWebKey): string {
  const members: Record<string, string[]> = { OKP: ['crv', 'kty', 'x'], EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'] };
  const required = members[jwk.kty as string] ?? [];
  const canonical = `{${required.map((m) => `"${m}":"${String(jwk[m as keyof JsonWebKey])}"`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Makes a new key pair for `alg`; the private half as PKCS#8 PEM, the public half as JWK. */
export function generateSigningKey(alg: AsymmetricAlgorithm, now: number): SigningKey {
  const pair =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = pair.publicKey.export({ format: 'jwk' });
  const publicJwk = Object.fromEntries(Object.entries(jwk).map(([k, v]) => [k, String(v)]));
  return {
    kid: thumbprint(jwk),
    alg,
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk,
    createdAt: now,
    status: 'active',
    retiredAt: null,
  };
}

/** Timing of a rotation, shared by every instance. */
export interface KeyTiming {
  /** A new key is published this long before it signs, so every instance knows it first. */
  readonly propagationMs: number;
  /** A superseded key stays published this long after it last signed (the token lifetime + leeway). */
  readonly retentionMs: number;
}

export type KeyState = 'next' | 'signing' | 'verifying' | 'expired' | 'retired';

/** Active keys, newest first (ties broken by kid, so every instance orders them alike). */
function activeNewestFirst(keys: readonly SigningKey[]): SigningKey[] {
  return keys.filter((k) => k.status === 'active').sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1));
}

/**
 * The deployment's algorithm: that of its newest active key (the signing key, or the one about to
 * sign). It belongs to the stored keys, not to any one process's JWT_ALGORITHM; null when none.
 */
export function deploymentAlgorithm(keys: readonly SigningKey[]): AsymmetricAlgorithm | null {
  return activeNewestFirst(keys)[0]?.alg ?? null;
}

/**
 * The algorithm that signs at `now`: that of the newest active key published for `propagationMs`
 * (while none has, the oldest's). During a change of algorithm the old one signs until a key of
 * the new one has been published long enough, like any rotation.
 */
export function signingAlgorithm(keys: readonly SigningKey[], now: number, timing: KeyTiming): AsymmetricAlgorithm | null {
  const active = activeNewestFirst(keys);
  return (active.find((k) => k.createdAt + timing.propagationMs <= now) ?? active.at(-1))?.alg ?? null;
}

/**
 * Where each stored key stands at `now`. Among active keys of the configured algorithm, the newest
 * that has been published for `propagationMs` signs; while none has, the oldest does (on a first
 * start, the only one).
 * Keys it superseded verify until every token they signed has expired.
 */
export function keyStates(keys: readonly SigningKey[], alg: AsymmetricAlgorithm, now: number, timing: KeyTiming): Map<string, KeyState> {
  const states = new Map<string, KeyState>();
  const active = activeNewestFirst(keys);
  const candidates = active.filter((k) => k.alg === alg);
  const signer = candidates.find((k) => k.createdAt + timing.propagationMs <= now) ?? candidates.at(-1);
  for (const key of keys) {
    if (key.status === 'retired') states.set(key.kid, 'retired');
    else if (key === signer) states.set(key.kid, 'signing');
    else if (signer && key.createdAt > signer.createdAt) states.set(key.kid, 'next');
    else {
      // A key stopped signing when its successor started to; its tokens live for retentionMs more.
      const successor = active.filter((k) => k.createdAt > key.createdAt).at(-1);
      const stoppedAt = successor ? successor.createdAt + timing.propagationMs : now;
      states.set(key.kid, stoppedAt + timing.retentionMs > now ? 'verifying' : 'expired');
    }
  }
  return states;
}

/**
 * The keys this process signs and verifies with. Verification keys are indexed by kid and each is
 * pinned to its algorithm; nothing outside the ring is ever consulted (JWT-05).
 */
export class KeyRing {
  readonly signingKey: JwsKey;
  readonly verificationKeys: ReadonlyMap<string, JwsKey>;
  readonly jwks: readonly PublicJwk[];

  private constructor(signingKey: JwsKey, verificationKeys: Map<string, JwsKey>, jwks: PublicJwk[]) {
    this.signingKey = signingKey;
    this.verificationKeys = verificationKeys;
    this.jwks = jwks;
  }

  /** HS256 mode: one shared secret, nothing to publish. The kid is a hash, never the secret. */
  static fromSecret(secret: string): KeyRing {
    const key: JwsKey = {
      kid: `hs-${createHash('sha256').update(`gatehouse-kid:${secret}`).digest('base64url').slice(0, 16)}`,
      alg: 'HS256',
      key: Buffer.from(secret, 'utf8'),
    };
    return new KeyRing(key, new Map([[key.kid, key]]), []);
  }

  /** Builds the ring from stored keys as they stand at `now` (see keyStates). */
  static fromStoredKeys(keys: readonly SigningKey[], alg: AsymmetricAlgorithm, now = Date.now(), timing: KeyTiming = { propagationMs: 0, retentionMs: Infinity }): KeyRing {
    const states = keyStates(keys, alg, now, timing);
    const published = keys.filter((k) => ['next', 'signing', 'verifying'].includes(states.get(k.kid)!));
    const signer = keys.find((k) => states.get(k.kid) === 'signing');
    if (!signer) throw new TypeError(`no active ${alg} signing key`);
    const verificationKeys = new Map<string, JwsKey>(
      published.map((k) => [k.kid, { kid: k.kid, alg: k.alg, key: createPublicKey({ key: k.publicJwk as JsonWebKey, format: 'jwk' }) }]),
    );
    const jwks = published.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' as const }));
    return new KeyRing({ kid: signer.kid, alg: signer.alg, key: createPrivateKey(signer.privateKeyPem) }, verificationKeys, jwks);
  }
}
