import { BoundedMap } from '../bounded-map.js';
import { UnauthenticatedError } from '../errors.js';
import { randomToken } from '../ids.js';
import { ROLES, type Role } from '../model.js';
import type { Clock } from '../ports.js';
import { JwsError, signJws, verifyJws } from './jws.js';
import type { KeyRing } from './key-ring.js';
import { FIRST_PARTY_CLIENT_ID } from '../oauth/clients.js';

/** The claims Gatehouse puts in, and requires of, an access token. */
export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly sid: string;
  /** The user's role; `client` in a client-credentials token, whose `sub` is the client itself. */
  readonly role: Role | typeof CLIENT_ROLE;
  /** RFC 9068 §2.2: the OAuth client the token was issued to. */
  readonly client_id: string;
  /** RFC 9068 §2.2.3: the granted scope, space-separated ('' when nothing was granted). */
  readonly scope: string;
  /** When the user last proved who they are in the session (seconds); a refresh keeps it. */
  readonly auth_time?: number;
  /** RFC 8176 methods of that proof; a refresh keeps them. */
  readonly amr?: readonly string[];
  /** The assurance level of that proof (`aal1`, `aal2`). */
  readonly acr?: string;
}

/** What issue() needs to know of the session a token is for. */
export interface AccessSubject {
  readonly userId: string;
  readonly sessionId: string;
  readonly role: Role;
  readonly clientId: string;
  readonly scope: string;
  /** When the user last proved who they are in the session (epoch ms). */
  readonly authTime: number;
  readonly amr?: readonly string[];
  readonly acr?: string;
  /** The session's absolute end (epoch ms): the token never outlives it (SES-07). */
  readonly notAfter: number;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Seconds from now until `exp`: the truth for the token response's `expires_in`. */
  readonly expiresIn: number;
}

/** The `role` of a token a machine client got for itself (client_credentials): no user behind it. */
export const CLIENT_ROLE = 'client';

const TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const CACHE_LIMIT = 10_000;

export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlMs: number;
  readonly leewayMs: number;
}

/**
 * Issues and verifies access tokens (RFC 9068 profile: `typ: at+jwt`).
 *
 * Verifying an EdDSA signature costs more than the rest of a request, so fully verified tokens are
 * remembered until they expire. Only successes are cached, the cache is bounded, and `exp` is
 * checked again on every hit. The cache is keyed by the signature segment and a hit needs the whole
 * token to be equal: a Map hashes the key it is given character by character, and the token is a
 * new string on every request, so hashing ~90 characters instead of ~600 saves half a microsecond
 * a request; the full comparison keeps a token with the same signature but other claims out.
 */
export class AccessTokens {
  private readonly verified = new BoundedMap<string, { readonly token: string; readonly claims: AccessClaims }>(CACHE_LIMIT);
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

  async issue(subject: AccessSubject): Promise<string> {
    return (await this.mint(subject)).token;
  }

  /** A new access token for the subject, with its true lifetime. */
  async mint(subject: AccessSubject): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.clock.now() / 1000);
    // SES-07: a token minted just before the session's absolute end would otherwise stay valid to
    // every offline verifier for a full TTL after the session is over.
    const exp = Math.max(iat, Math.min(iat + this.ttlSeconds, Math.floor(subject.notAfter / 1000)));
    const claims: AccessClaims = {
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: subject.userId,
      iat,
      exp,
      jti: randomToken(16),
      sid: subject.sessionId,
      role: subject.role,
      client_id: subject.clientId,
      scope: subject.scope,
      auth_time: Math.floor(subject.authTime / 1000),
      ...(subject.amr ? { amr: [...subject.amr] } : {}),
      ...(subject.acr ? { acr: subject.acr } : {}),
    };
    return { token: await signJws(this.ring.signingKey, { typ: 'at+jwt' }, { ...claims }), expiresIn: exp - iat };
  }

  /**
   * A client-credentials token (RFC 6749 §4.4): `sub` and `client_id` are the client, `role` is
   * `client`, and `sid` names this grant alone. No session stands behind it, so Gatehouse's own
   * routes refuse it (they look the session up); resource servers check its scope.
   */
  async mintForClient(clientId: string, scope: string): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + this.ttlSeconds;
    const claims = {
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: clientId,
      iat,
      exp,
      jti: randomToken(16),
      sid: `cc.${randomToken(12)}`,
      role: CLIENT_ROLE,
      client_id: clientId,
      scope,
    };
    return { token: await signJws(this.ring.signingKey, { typ: 'at+jwt' }, claims), expiresIn: exp - iat };
  }

  /** Returns the token's claims, or throws UnauthenticatedError ('expired' or 'invalid'). */
  verify(token: string): AccessClaims {
    const now = this.clock.now();
    const signature = token.slice(token.lastIndexOf('.') + 1);
    const entry = this.verified.get(signature);
    if (entry !== undefined && entry.token === token) {
      this.cacheStats.hits++;
      const cached = entry.claims;
      if (cached.exp * 1000 + this.settings.leewayMs > now) return cached;
      this.verified.delete(signature);
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
    this.verified.set(signature, { token, claims });
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
    // A client's own token names the client as its subject; any other token names a user's role.
    if (!ROLES.includes(p.role as Role) && !(p.role === CLIENT_ROLE && p.sub === p.client_id)) throw invalid('role is missing');
    if (p.client_id !== undefined && (typeof p.client_id !== 'string' || p.client_id === '')) throw invalid('client_id is not a string');
    if (p.scope !== undefined && typeof p.scope !== 'string') throw invalid('scope is not a string');
    if (p.amr !== undefined && (!Array.isArray(p.amr) || !p.amr.every((m) => typeof m === 'string'))) throw invalid('amr is not a list of strings');
    if (p.acr !== undefined && typeof p.acr !== 'string') throw invalid('acr is not a string');
    if (p.auth_time !== undefined && (!isTime(p.auth_time) || p.auth_time * 1000 - this.settings.leewayMs > now)) throw invalid('auth_time is not a past time');
    return {
      iss: p.iss,
      aud: this.settings.audience,
      sub: p.sub,
      iat: p.iat,
      exp: p.exp,
      jti: p.jti,
      sid: p.sid,
      role: p.role as AccessClaims['role'],
      // Tokens signed before client_id and scope existed are honoured until they expire (15 minutes
      // after an upgrade): they can only come from the first-party logins.
      client_id: (p.client_id as string | undefined) ?? FIRST_PARTY_CLIENT_ID,
      scope: (p.scope as string | undefined) ?? '',
      ...(p.auth_time !== undefined ? { auth_time: p.auth_time as number } : {}),
      ...(p.amr !== undefined ? { amr: p.amr as string[] } : {}),
      ...(p.acr !== undefined ? { acr: p.acr as string } : {}),
    };
  }
}
