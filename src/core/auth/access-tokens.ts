import type { Config } from '../../config/index.js';
import { UnauthenticatedError } from '../errors.js';
import { randomToken } from '../ids.js';
import { ROLES, type Role } from '../model.js';
import type { Clock } from '../ports.js';
import { JwsError, signJws, verifyJws } from './jws.js';
import type { KeyRing } from './key-ring.js';

/** The claims Gatehouse puts in, and requires of, an access token. */
export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly sid: string;
  readonly role: Role;
}

const TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const CACHE_LIMIT = 10_000;

export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlMs: number;
  readonly leewayMs: number;
}

export function accessTokenSettings(jwt: Config['jwt']): AccessTokenSettings {
  return { issuer: jwt.issuer, audience: jwt.audience, ttlMs: jwt.accessTokenTtlMs, leewayMs: jwt.clockLeewayMs };
}

/**
 * Issues and verifies access tokens (RFC 9068 profile: `typ: at+jwt`).
 *
 * Verifying an EdDSA signature costs more than the rest of a request, so fully verified tokens are
 * remembered by their exact string until they expire. Only successes are cached, the cache is
 * bounded, and `exp` is checked again on every hit.
 */
export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();
  private ring: KeyRing;
  /** Lookups of the verified-token cache, for the metrics. */
  readonly cacheStats = { hits: 0, misses: 0 };

  constructor(
    ring: KeyRing,
    private readonly settings: AccessTokenSettings,
    private readonly clock: Clock,
  ) {
    this.ring = ring;
  }

  get keyRing(): KeyRing {
    return this.ring;
  }

  /** Swaps in a reloaded ring; when a key left it, the tokens it signed are forgotten too. */
  setKeyRing(ring: KeyRing): void {
    const removed = [...this.ring.verificationKeys.keys()].some((kid) => !ring.verificationKeys.has(kid));
    this.ring = ring;
    if (removed) this.verified.clear();
  }

  get ttlSeconds(): number {
    return Math.floor(this.settings.ttlMs / 1000);
  }

  issue(subject: { userId: string; sessionId: string; role: Role }): string {
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessClaims = {
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: subject.userId,
      iat,
      exp: iat + this.ttlSeconds,
      jti: randomToken(16),
      sid: subject.sessionId,
      role: subject.role,
    };
    return signJws(this.ring.signingKey, { typ: 'at+jwt' }, { ...claims });
  }

  /** Returns the token's claims, or throws UnauthenticatedError ('expired' or 'invalid'). */
  verify(token: string): AccessClaims {
    const now = this.clock.now();
    const cached = this.verified.get(token);
    if (cached) {
      this.cacheStats.hits++;
      if (cached.exp * 1000 + this.settings.leewayMs > now) return cached;
      this.verified.delete(token);
      throw new UnauthenticatedError('expired', 'The access token has expired.');
    }
    this.cacheStats.misses++;
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      ({ header, payload } = verifyJws(token, this.ring.verificationKeys));
    } catch (error) {
      if (error instanceof JwsError) throw new UnauthenticatedError('invalid', 'The access token is not valid.');
      throw error;
    }
    // CLM-06: only access tokens pass; an ID token or any other JWT from the same key does not.
    if (typeof header.typ !== 'string' || !TOKEN_TYPES.has(header.typ.toLowerCase())) {
      throw new UnauthenticatedError('invalid', 'The token is not an access token.');
    }
    const claims = this.checkClaims(payload, now);
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }

  private checkClaims(p: Record<string, unknown>, now: number): AccessClaims {
    const invalid = (why: string) => new UnauthenticatedError('invalid', `The access token is not valid: ${why}.`);
    const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    // CLM-01: no exp, no entry.
    if (!isTime(p.exp)) throw invalid('exp is missing');
    if (p.exp * 1000 + this.settings.leewayMs <= now) throw new UnauthenticatedError('expired', 'The access token has expired.');
    // CLM-02
    if (p.nbf !== undefined && (!isTime(p.nbf) || p.nbf * 1000 - this.settings.leewayMs > now)) throw invalid('not valid yet');
    if (!isTime(p.iat) || p.iat * 1000 - this.settings.leewayMs > now) throw invalid('iat is missing or in the future');
    // CLM-03/04
    if (p.iss !== this.settings.issuer) throw invalid('wrong issuer');
    const audiences = Array.isArray(p.aud) ? p.aud : [p.aud];
    if (!audiences.includes(this.settings.audience)) throw invalid('wrong audience');
    if (typeof p.sub !== 'string' || p.sub === '') throw invalid('sub is missing');
    if (typeof p.sid !== 'string' || p.sid === '') throw invalid('sid is missing');
    if (typeof p.jti !== 'string' || p.jti === '') throw invalid('jti is missing');
    if (!ROLES.includes(p.role as Role)) throw invalid('role is missing');
    return { iss: p.iss, aud: this.settings.audience, sub: p.sub, iat: p.iat, exp: p.exp, jti: p.jti, sid: p.sid, role: p.role as Role };
  }
}
