import { createHash } from 'node:crypto';
import { JwsError, signJws, verifyJws } from '../auth/jws.js';
import { KeyRing, generateSigningKey, type PublicJwk } from '../auth/key-ring.js';
import type { Clock, KeyStore } from '../ports.js';

export interface IdTokenSettings {
  readonly issuer: string;
  readonly ttlMs: number;
}

/** What an ID token says about a sign-in (OIDC Core §2, OIDC-04). */
export interface IdTokenSubject {
  readonly userId: string;
  readonly clientId: string;
  /** The user's session at the provider (`sid`, used by RP-initiated logout). */
  readonly sessionId: string;
  /** Epoch ms. */
  readonly authTime: number;
  readonly amr: readonly string[];
  readonly nonce: string | null;
  /** The access token issued with it, for `at_hash`. */
  readonly accessToken?: string;
  /** Claims of the granted scope (profile, email). */
  readonly claims?: Record<string, string | number | boolean>;
  /** The client's registered algorithm (RS256 unless it chose the access tokens' one). */
  readonly alg?: string;
}

// How long an instance trusts its copy of the keys before reading them again: another instance may
// have made the first one, and relying parties fetch the JWKS from any instance.
const RELOAD_MS = 5000;

/** OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}

/**
 * ID tokens, signed RS256 (the algorithm every OpenID relying party supports) with keys of their
 * own, apart from the access-token keys: JWT_ALGORITHM stays free, and an ID token can never pass
 * as an access token (different key, different `typ`). The first key is made with the first ID
 * token, so a deployment without OpenID clients publishes nothing more than before.
 */
export class IdTokens {
  private ring: KeyRing | null = null;
  private loadedAt = -Infinity;

  constructor(
    private readonly store: KeyStore,
    private readonly clock: Clock,
    private readonly settings: IdTokenSettings,
    /** The access-token ring, for clients registered for its algorithm instead of RS256. */
    private readonly accessRing: () => KeyRing,
  ) {}

  /** The algorithms ID tokens can be signed with: RS256, and the access tokens' when asymmetric and other. */
  algorithms(): string[] {
    const access = this.accessRing().signingKey.alg;
    return access === 'RS256' || access === 'HS256' ? ['RS256'] : ['RS256', access];
  }

  private async load(force = false): Promise<KeyRing | null> {
    const now = this.clock.now();
    if (!force && this.ring && now - this.loadedAt < RELOAD_MS) return this.ring;
    const keys = await this.store.listUsable();
    this.ring = keys.some((k) => k.alg === 'RS256') ? KeyRing.fromStoredKeys(keys, 'RS256', now) : null;
    this.loadedAt = now;
    return this.ring;
  }

  /** The public ID-token keys, for the JWKS (none until the first ID token). */
  async publicKeys(): Promise<readonly PublicJwk[]> {
    return (await this.load())?.jwks ?? [];
  }

  async sign(subject: IdTokenSubject): Promise<string> {
    const access = this.accessRing().signingKey;
    // A client that cannot do RS256 gets the access tokens' key; `typ` keeps the two kinds apart.
    const key = subject.alg && subject.alg !== 'RS256' && access.alg === subject.alg ? access : (await this.rsaRing()).signingKey;
    const iat = Math.floor(this.clock.now() / 1000);
    const payload = {
      ...subject.claims,
      iss: this.settings.issuer,
      sub: subject.userId,
      aud: subject.clientId,
      azp: subject.clientId,
      iat,
      exp: iat + Math.floor(this.settings.ttlMs / 1000),
      auth_time: Math.floor(subject.authTime / 1000),
      amr: [...subject.amr],
      sid: subject.sessionId,
      ...(subject.nonce !== null ? { nonce: subject.nonce } : {}),
      ...(subject.accessToken ? { at_hash: accessTokenHash(subject.accessToken) } : {}),
    };
    return signJws(key, { typ: 'JWT' }, payload);
  }

  private async rsaRing(): Promise<KeyRing> {
    let ring = await this.load();
    if (!ring) {
      // Instances racing here make one key between them (insertFirst is atomic).
      await this.store.insertFirst(generateSigningKey('RS256', this.clock.now()));
      ring = (await this.load(true))!;
    }
    return ring;
  }

  /**
   * The claims of an ID token this provider signed, expired or not (RP-initiated logout accepts an
   * old `id_token_hint`: OpenID RP-Initiated Logout §2); null for anything else.
   */
  async verifyHint(token: string): Promise<{ sub: string; aud: string; sid: string | null } | null> {
    for (const force of [false, true]) {
      const ring = await this.load(force);
      const keys = new Map([...(ring?.verificationKeys ?? []), ...this.accessRing().verificationKeys]);
      try {
        const { header, payload } = verifyJws(token, keys);
        // An access token signed by the shared key is not an ID token.
        if (header.typ !== 'JWT') return null;
        if (payload.iss !== this.settings.issuer || typeof payload.sub !== 'string' || typeof payload.aud !== 'string') return null;
        return { sub: payload.sub, aud: payload.aud, sid: typeof payload.sid === 'string' ? payload.sid : null };
      } catch (error) {
        if (!(error instanceof JwsError)) throw error;
      }
    }
    return null;
  }
}
