import { errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions, type JWTVerifyResult } from 'jose';
import { TokenExpiredError, TokenInvalidError, TokenMissingError, VerifyError } from './errors.js';
import { toClaims } from './lib/claims.js';
import { assertCompactJws } from './lib/compact.js';
import { ASYMMETRIC, RemoteKeySet } from './lib/key-set.js';
import type { AccessTokenClaims, Algorithm } from './types.js';

/** Options of {@link createVerifier}. Times are in milliseconds unless the name says seconds. */
export interface VerifierOptions {
  /** The Gatehouse issuer, exactly as in its tokens' `iss` (its `JWT_ISSUER`, e.g. `https://auth.example.com`). */
  readonly issuer: string;
  /** The audience this API accepts (Gatehouse's `JWT_AUDIENCE`); a list accepts any of them. */
  readonly audience: string | readonly string[];
  /** Clock skew tolerated on `exp`, `nbf`, `iat` and `auth_time`, in seconds. Default 30. */
  readonly leeway?: number;
  /**
   * Algorithms this API accepts at all; default: EdDSA, ES256 and RS256 (keys from the JWKS), or
   * HS256 when `secret` is given. A token is verified only with the algorithm of the key its `kid`
   * names, never with the one its header asks for.
   */
  readonly algorithms?: readonly Algorithm[];
  /** HS256 mode: Gatehouse's `JWT_SECRET`. No discovery and no key fetching then. */
  readonly secret?: string | Uint8Array;
  /** The JWKS URL, skipping RFC 8414 discovery (e.g. when the issuer URL is not reachable from here). */
  readonly jwksUri?: string;
  /** Minimum time between two key fetches caused by an unknown `kid`. Default 5000. */
  readonly cooldown?: number;
  /** Keys older than this are fetched again (and kept if the fetch fails). Default 600000 (10 min). */
  readonly cacheMaxAge?: number;
  /** Time limit of one metadata or key fetch. Default 5000. */
  readonly timeout?: number;
  /** The fetch implementation (proxies, tests). Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** The current time in milliseconds since the epoch (tests freeze it). Default: `Date.now`. */
  readonly now?: () => number;
}

/** Verifies Gatehouse access tokens; made by {@link createVerifier}. */
export interface Verifier {
  /**
   * Verifies an access token (the bare token, without `Bearer `) and returns its claims.
   *
   * @throws {@link VerifyError} with `code` ERR_TOKEN_MISSING, ERR_TOKEN_INVALID, ERR_TOKEN_EXPIRED or
   *   ERR_DISCOVERY_FAILED (keys unreachable and none cached for this token).
   */
  verify(token: string | null | undefined): Promise<AccessTokenClaims>;
  /** How many times the key set was fetched so far (0 in HS256 mode). */
  readonly keyFetches: number;
}

/**
 * Makes a verifier for one Gatehouse deployment. Keys are discovered through the issuer's RFC 8414
 * metadata (`/.well-known/oauth-authorization-server`) on first use, then cached.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'gatehouse' });
 * const claims = await verifier.verify(token); // throws VerifyError with a stable code
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (typeof options?.issuer !== 'string' || !URL.canParse(options.issuer)) throw new TypeError('createVerifier: issuer must be a URL');
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    throw new TypeError('createVerifier: audience must be a non-empty string or list of strings');
  }
  const leeway = options.leeway ?? 30;
  if (!(Number.isFinite(leeway) && leeway >= 0)) throw new TypeError('createVerifier: leeway must be a number of seconds >= 0');
  const now = options.now ?? Date.now;
  const hmac = options.secret !== undefined;
  const algorithms = options.algorithms ?? (hmac ? ['HS256'] : ASYMMETRIC);
  if (hmac ? algorithms.some((a) => a !== 'HS256') : algorithms.some((a) => !ASYMMETRIC.includes(a))) {
    // Mixing would let a published public key be used as an HMAC secret (key confusion).
    throw new TypeError(hmac ? 'createVerifier: with a secret, only HS256 is allowed' : 'createVerifier: HS256 needs the secret option');
  }

  let verifyJws: (token: string, verifyOptions: JWTVerifyOptions) => Promise<JWTVerifyResult>;
  let keySet: RemoteKeySet | null = null;
  if (hmac) {
    const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    // Gatehouse refuses JWT_SECRETs under 256 bits; a shorter one here is a configuration mistake.
    if (!(secret instanceof Uint8Array) || secret.byteLength < 32) throw new TypeError('createVerifier: secret must be at least 32 bytes');
    verifyJws = (token, verifyOptions) => jwtVerify(token, secret, verifyOptions);
  } else {
    keySet = new RemoteKeySet({
      issuer: options.issuer,
      jwksUri: options.jwksUri,
      algorithms: new Set(algorithms),
      cooldownMs: options.cooldown ?? 5000,
      cacheMaxAgeMs: options.cacheMaxAge ?? 600_000,
      timeoutMs: options.timeout ?? 5000,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      now,
    });
    const keys = keySet;
    const getKey: JWTVerifyGetKey = (header) => keys.resolve(header);
    verifyJws = (token, verifyOptions) => jwtVerify(token, getKey, verifyOptions);
  }

  const base: Omit<JWTVerifyOptions, 'currentDate'> = {
    issuer: options.issuer,
    audience: [...audiences],
    algorithms: [...algorithms],
    typ: 'at+jwt',
    clockTolerance: leeway,
    requiredClaims: ['exp', 'iat', 'sub', 'jti'],
  };

  return {
    get keyFetches() {
      return keySet?.fetches ?? 0;
    },
    async verify(token) {
      if (token === undefined || token === null || token === '') throw new TokenMissingError();
      if (typeof token !== 'string') throw new TokenInvalidError();
      assertCompactJws(token);
      const current = now();
      try {
        const { payload, protectedHeader } = await verifyJws(token, { ...base, currentDate: new Date(current) });
        // Gatehouse never puts key material or key URLs in a header; a token that does was made elsewhere.
        if (['jwk', 'jku', 'x5u', 'x5c'].some((name) => name in protectedHeader)) throw new TokenInvalidError('The access token carries a header-supplied key.');
        return toClaims(payload, Math.floor(current / 1000), leeway);
      } catch (error) {
        throw asVerifyError(error);
      }
    },
  };
}

function asVerifyError(error: unknown): unknown {
  if (error instanceof VerifyError) return error;
  if (error instanceof errors.JWTExpired) return new TokenExpiredError(undefined, { cause: error });
  if (error instanceof errors.JOSEError) return new TokenInvalidError(undefined, { cause: error });
  return error;
}
