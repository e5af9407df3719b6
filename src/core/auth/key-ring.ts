import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { JwtAlgorithm } from '../../config/index.js';
import type { SigningKey } from '../model.js';
import type { Clock, KeyStore } from '../ports.js';
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
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
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

  /** Builds the ring from stored keys; the newest active key of `alg` signs. */
  static fromStoredKeys(keys: readonly SigningKey[], alg: AsymmetricAlgorithm): KeyRing {
    const usable = keys.filter((k) => k.status !== 'retired');
    const signer = usable.filter((k) => k.status === 'active' && k.alg === alg).sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1))[0];
    if (!signer) throw new TypeError(`no active ${alg} signing key`);
    const verificationKeys = new Map<string, JwsKey>(
      usable.map((k) => [k.kid, { kid: k.kid, alg: k.alg, key: createPublicKey({ key: k.publicJwk as JsonWebKey, format: 'jwk' }) }]),
    );
    const jwks = usable.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' as const }));
    return new KeyRing({ kid: signer.kid, alg: signer.alg, key: createPrivateKey(signer.privateKeyPem) }, verificationKeys, jwks);
  }
}

/**
 * Loads the ring for the configured algorithm, creating and storing the first key pair when there
 * is none, so every instance on the same database signs with the same keys.
 */
export async function loadKeyRing(store: KeyStore, algorithm: JwtAlgorithm, secret: string | null, clock: Clock): Promise<KeyRing> {
  if (algorithm === 'HS256') {
    if (!secret) throw new TypeError('HS256 needs a secret');
    return KeyRing.fromSecret(secret);
  }
  let keys = await store.listUsable();
  if (!keys.some((k) => k.status === 'active' && k.alg === algorithm)) {
    await store.insert(generateSigningKey(algorithm, clock.now()));
    keys = await store.listUsable();
  }
  return KeyRing.fromStoredKeys(keys, algorithm);
}
