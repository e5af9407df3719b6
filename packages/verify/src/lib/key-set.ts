import { importJWK, type CryptoKey, type JWK, type JWSHeaderParameters } from 'jose';
import { DiscoveryFailedError, TokenInvalidError } from '../errors.js';
import type { Algorithm } from '../types.js';
import { discoverJwksUri, fetchJson, type FetchSettings } from './discovery.js';

/** How a remote key set behaves; times in milliseconds. */
export interface KeySetSettings extends FetchSettings {
  /** The issuer, for discovery; unused when `jwksUri` is given. */
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  /** The algorithms the application accepts at all. */
  readonly algorithms: ReadonlySet<Algorithm>;
  /** Minimum time between two fetches caused by an unknown `kid`. */
  readonly cooldownMs: number;
  /** Keys older than this are fetched again before use (kept if that fetch fails). */
  readonly cacheMaxAgeMs: number;
  readonly now: () => number;
}

/**
 * The one algorithm a published key verifies: its `alg` when present, else the only one its type
 * allows in Gatehouse's set. The token's own `alg` header is checked against this, never trusted.
 */
function algorithmOf(jwk: JWK): Algorithm | null {
  if (typeof jwk.alg === 'string') return (ASYMMETRIC as readonly string[]).includes(jwk.alg) ? (jwk.alg as Algorithm) : null;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  return null;
}

/** The algorithms whose keys come from a JWKS. */
export const ASYMMETRIC: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256'];

interface Entry {
  readonly kid: string | undefined;
  readonly alg: Algorithm;
  readonly jwk: JWK;
  key?: Promise<CryptoKey>;
}

/**
 * The issuer's public keys, fetched once and cached. An unknown `kid` (a rotation) causes at most
 * one fetch per cooldown, shared by all requests waiting for it, so tokens with made-up kids cannot
 * turn into a flood of requests to the issuer. When the issuer is unreachable, the keys already
 * fetched keep verifying.
 */
export class RemoteKeySet {
  private entries: Entry[] = [];
  private loaded = false;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private inflight: Promise<void> | null = null;
  private lastError: unknown = null;
  private jwksUri: string | undefined;
  /** How many times the key set was fetched (for tests and metrics). */
  fetches = 0;

  constructor(private readonly settings: KeySetSettings) {
    this.jwksUri = settings.jwksUri;
  }

  /** The key for a token's protected header, or a TokenInvalidError / DiscoveryFailedError. */
  async resolve(header: JWSHeaderParameters): Promise<CryptoKey> {
    const { now, cacheMaxAgeMs, cooldownMs } = this.settings;
    if (!this.loaded) {
      // Never fetched successfully: retry, but not more than once per cooldown.
      if (this.lastError !== null && now() - this.attemptedAt < cooldownMs) throw this.lastError;
      await this.refresh();
    } else if (now() - this.fetchedAt > cacheMaxAgeMs && now() - this.attemptedAt >= cooldownMs) {
      // Stale keys: fetch again, but an unreachable issuer must not stop tokens from verifying.
      await this.refresh().catch(() => undefined);
    }
    let entry = this.find(header);
    if (entry === undefined && this.isUnknownKid(header) && now() - this.attemptedAt >= cooldownMs) {
      await this.refresh();
      entry = this.find(header);
    }
    if (entry === undefined) throw new TokenInvalidError('No published key matches the access token (kid and alg).');
    entry.key ??= importJWK(entry.jwk, entry.alg) as Promise<CryptoKey>;
    return entry.key;
  }

  /** The one key with this kid and exactly this alg; without a kid, the one key of this alg. */
  private find(header: JWSHeaderParameters): Entry | undefined {
    const alg = header.alg as Algorithm;
    const matches = this.entries.filter((e) => e.alg === alg && (header.kid === undefined || e.kid === header.kid));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Only a kid that is not published may be a new key; a known kid with another alg is a forgery. */
  private isUnknownKid(header: JWSHeaderParameters): boolean {
    return typeof header.kid === 'string' && !this.entries.some((e) => e.kid === header.kid);
  }

  /** One fetch at a time; callers that arrive meanwhile wait for it. */
  refresh(): Promise<void> {
    this.inflight ??= this.load()
      .then(
        () => {
          this.lastError = null;
        },
        (error: unknown) => {
          this.lastError = error;
          throw error;
        },
      )
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.attemptedAt = this.settings.now();
    this.jwksUri ??= await discoverJwksUri(this.settings.issuer, this.settings);
    this.fetches++;
    const jwks = await fetchJson(this.jwksUri, this.settings, 'JSON Web Key Set');
    const keys = (jwks as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new DiscoveryFailedError('The JSON Web Key Set has no keys array.');
    const previous = this.entries;
    const entries: Entry[] = [];
    for (const jwk of keys as JWK[]) {
      if (typeof jwk !== 'object' || jwk === null || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      if (jwk.kid !== undefined && typeof jwk.kid !== 'string') continue;
      const alg = algorithmOf(jwk);
      if (alg === null || !this.settings.algorithms.has(alg)) continue;
      // Keys that stay published keep their imported form.
      const same = previous.find((e) => e.kid === jwk.kid && e.alg === alg && JSON.stringify(e.jwk) === JSON.stringify(jwk));
      entries.push(same ?? { kid: jwk.kid, alg, jwk });
    }
    this.entries = entries;
    this.loaded = true;
    this.fetchedAt = this.settings.now();
  }
}
