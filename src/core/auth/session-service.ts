import type { AuditLog, RequestContext } from '../audit.js';
import { InvalidRefreshTokenError, NotFoundError, UnauthenticatedError } from '../errors.js';
import { newId } from '../ids.js';
import type { RefreshTokenRecord, Session, User } from '../model.js';
import type { Clock, SessionStore } from '../ports.js';
import type { AccessClaims, AccessTokens } from './access-tokens.js';
import { grantScope, scopeList } from '../oauth/scopes.js';
import { PrincipalCache } from './principal-cache.js';
import { ACR, AMR, PASSWORD_ONLY, acrOf, type Authentication } from './authentication.js';
import { deriveSuccessor, formatRefreshToken, hashSecret, newRefreshToken, parseRefreshToken, secretMatches, type RefreshTokenParts } from './refresh-tokens.js';

export type ClientContext = RequestContext;

/** What a successful login or refresh hands back. */
export interface TokenGrant {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  readonly refreshExpiresIn: number;
  readonly user: User;
  readonly sessionId: string;
  /** The scope the access token carries, space-separated ('' for none). */
  readonly scope: string;
  /** RFC 8176 methods of the session's last proof of presence. */
  readonly amr: readonly string[];
}

/** For which OAuth client a session is started or refreshed, and what scope it asks for. */
export interface ClientGrant {
  readonly clientId: string;
  /** Already decided for a new session; for a refresh, the requested narrowing (RFC 6749 §6). */
  readonly scope?: string;
}

/** The caller of a request, as established from its access token. */
export interface Principal {
  readonly user: User;
  readonly session: Session;
  readonly claims: AccessClaims;
}

export type LogoutScope = 'local' | 'others' | 'global';

export type SessionEvent = { type: 'session.revoked'; sessionIds: string[]; userId: string } | { type: 'refresh.reused'; sessionId: string; userId: string };

export interface SessionServiceOptions {
  readonly refreshTtlMs: number;
  readonly reuseGraceMs: number;
  /** Server-side key for deriving refresh-token successors. */
  readonly rotationKey: Buffer;
  /** How long a checked session may be trusted without asking storage again (0 disables). */
  readonly principalCacheTtlMs: number;
  /** Told of revocations and reuse, for caches and the audit log. */
  readonly onEvent?: (event: SessionEvent) => void;
}

const MAX_USER_AGENT = 512;

/** Sessions, refresh-token rotation with reuse detection, and the per-request token check. */
export class SessionService {
  private readonly principals: PrincipalCache;

  constructor(
    private readonly store: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly options: SessionServiceOptions,
  ) {
    this.principals = new PrincipalCache(clock, options.principalCacheTtlMs);
  }

  get principalCacheStats(): Readonly<{ hits: number; misses: number }> {
    return this.principals.stats;
  }

  /** Drops what is remembered of a user (their role, status or password changed, or they are gone). */
  forgetUser(userId: string): void {
    this.principals.forgetUser(userId);
  }

  /** Drops what is remembered of sessions revoked elsewhere. */
  forgetSessions(sessionIds: readonly string[]): void {
    this.principals.forgetSessions(sessionIds);
  }

  private emit(event: SessionEvent): void {
    if (event.type === 'session.revoked') this.principals.forgetSessions(event.sessionIds);
    this.options.onEvent?.(event);
  }

  /**
   * SES-01: every login gets a new session and fresh tokens, bound to the client it was for (SES-08).
   * `auth` says how the user proved who they are; it travels in every access token of the session.
   */
  async start(user: User, client: ClientContext, grant: ClientGrant, auth: Authentication = PASSWORD_ONLY): Promise<TokenGrant> {
    const now = this.clock.now();
    const refresh = newRefreshToken();
    const session: Session = {
      id: newId(now),
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.options.refreshTtlMs,
      revokedAt: null,
      userAgent: client.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      ip: client.ip ?? null,
      refreshId: refresh.id,
      rotatedAt: null,
      clientId: grant.clientId,
      scope: grant.scope ?? '',
      authTime: now,
      amr: [...auth.amr],
      acr: auth.acr ?? acrOf(auth.amr),
    };
    await this.store.create(session, { id: refresh.id, sessionId: session.id, secretHash: hashSecret(refresh.secret), parentId: null, createdAt: now });
    return this.grant(user, session, refresh, now, session.scope);
  }

  /**
   * SES-02: rotates the refresh token. The current token is swapped atomically for its successor.
   * Its parent presented again within the grace window gets that same successor (a retry, or a
   * second tab); any other replay of a rotated token revokes the whole session.
   */
  async refresh(token: string, client: ClientContext, request: ClientGrant): Promise<TokenGrant> {
    const parts = parseRefreshToken(token);
    if (!parts) throw new InvalidRefreshTokenError();
    // One read: the token, its session and its user.
    const read = await this.store.findByRefreshToken(parts.id);
    if (!read || !secretMatches(parts.secret, read.token.secretHash)) throw new InvalidRefreshTokenError();
    const record = read.token;
    let found: { session: Session; user: User } | null = read;
    const now = this.clock.now();
    if (!this.isLive(found.session, found.user, now)) throw new InvalidRefreshTokenError();
    // SES-08: a refresh token leaked from one client is worth nothing to another. The session is
    // left alone: the presenter may be a confused client rather than the thief.
    if (found.session.clientId !== request.clientId) {
      await this.audit.record('client.mismatch', client, {
        subjectId: found.user.id,
        details: { session_id: found.session.id, client_id: request.clientId, operation: 'refresh' },
      });
      throw new InvalidRefreshTokenError();
    }
    // Checked before anything rotates, so a malformed scope leaves the token usable.
    const scope = grantScope(request.scope, scopeList(found.session.scope));

    const successor = deriveSuccessor(parts, this.options.rotationKey);
    if (found.session.refreshId === record.id) {
      const next = { id: successor.id, sessionId: record.sessionId, secretHash: hashSecret(successor.secret), parentId: record.id, createdAt: now };
      if (await this.store.rotateRefresh(record.sessionId, record.id, next)) {
        return this.grant(found.user, { ...found.session, refreshId: successor.id, rotatedAt: now, lastUsedAt: now }, successor, now, scope);
      }
      // Lost a race with a concurrent refresh of the same token: look at what won.
      found = await this.store.findWithUser(record.sessionId);
      if (!found || !this.isLive(found.session, found.user, now)) throw new InvalidRefreshTokenError();
    }
    const { session, user } = found;
    const withinGrace = session.rotatedAt !== null && now - session.rotatedAt <= this.options.reuseGraceMs;
    if (session.refreshId === successor.id && withinGrace) {
      // Legitimate for a second tab or a lost response, but whoever holds the parent gets the live
      // successor: on the record, so an investigation can see it.
      await this.audit.record('refresh.retried', client, { subjectId: user.id, details: { session_id: session.id } });
      return this.grant(user, session, successor, now, scope);
    }

    await this.store.revoke(session.id, now);
    // A stolen token, or a client that lost its successor: either way the chain is no longer trusted.
    await this.audit.record('refresh.reused', client, { subjectId: user.id, details: { session_id: session.id } });
    this.emit({ type: 'refresh.reused', sessionId: session.id, userId: user.id });
    this.emit({ type: 'session.revoked', sessionIds: [session.id], userId: user.id });
    throw new InvalidRefreshTokenError('The refresh token was already used; the session has been revoked.');
  }

  /** The stored record of a refresh token (current or rotated) whose secret matches; null for anything else. */
  private async findRefreshRecord(token: string): Promise<(RefreshTokenRecord & { parts: RefreshTokenParts }) | null> {
    const parts = parseRefreshToken(token);
    if (!parts) return null;
    const record = await this.store.findRefreshToken(parts.id);
    return record && secretMatches(parts.secret, record.secretHash) ? { ...record, parts } : null;
  }

  /**
   * RFC 7009 revocation, for `clientId`: a refresh token (current or rotated) or an access token
   * ends its whole session (SES-08). Unknown, invalid or expired tokens, and tokens of another
   * client, change nothing; the caller answers the same either way (§2.2), so a client cannot use
   * this to learn whether a token is valid, nor end another client's sessions.
   */
  async revokeToken(token: string, clientId: string, client: ClientContext = {}): Promise<void> {
    // The two formats cannot be confused (opaque `id.secret` vs a three-part JWS), so the
    // token_type_hint is not needed to find the token.
    const sessionId = parseRefreshToken(token) ? (await this.findRefreshRecord(token))?.sessionId : this.accessTokenSession(token);
    if (!sessionId) return;
    const session = await this.store.findById(sessionId);
    if (!session) return;
    if (session.clientId !== clientId) {
      await this.audit.record('client.mismatch', client, { subjectId: session.userId, details: { session_id: session.id, client_id: clientId, operation: 'revoke' } });
      return;
    }
    if (!(await this.store.revoke(session.id, this.clock.now()))) return;
    this.emit({ type: 'session.revoked', sessionIds: [session.id], userId: session.userId });
    await this.audit.record('token.revoked', client, { subjectId: session.userId, details: { session_id: session.id, client_id: clientId } });
  }

  /** The session of a valid, unexpired access token; null for anything else. */
  private accessTokenSession(token: string): string | null {
    try {
      return this.tokens.verify(token).sid;
    } catch (error) {
      if (error instanceof UnauthenticatedError) return null;
      throw error;
    }
  }

  /**
   * The per-request check: a valid signature is not enough, the session must be live and the user
   * active (CLM-05), and the role is read from storage so a demotion counts at once (CLM-07).
   * Answers synchronously when the token was verified before and its session is in the cache (the
   * common case), so such a request waits on no promise; otherwise the answer is a promise.
   */
  authenticate(accessToken: string): Principal | Promise<Principal> {
    const claims = this.tokens.verify(accessToken);
    const found = this.principals.get(claims.sid, this.loadPrincipal);
    return found instanceof Promise ? found.then((f) => this.principal(claims, f)) : this.principal(claims, found);
  }

  private readonly loadPrincipal = (sessionId: string) => this.store.findWithUser(sessionId);

  private principal(claims: AccessClaims, found: { session: Session; user: User } | null): Principal {
    if (!found || found.session.userId !== claims.sub || !this.isLive(found.session, found.user, this.clock.now())) {
      throw new UnauthenticatedError('revoked', 'The session has ended.');
    }
    return { user: found.user, session: found.session, claims };
  }

  /**
   * MFA-05: the caller proved their presence again (POST /auth/reauthenticate). The session's
   * `auth_time` moves to now and its methods become the new proof's; the answer is a new access
   * token saying so. The refresh token is left as it is, so another tab holding it is not taken
   * for a thief, and its next refresh carries the new time too.
   */
  async reauthenticated(principal: Principal, auth: Authentication): Promise<Omit<TokenGrant, 'refreshToken'>> {
    const now = this.clock.now();
    const fresh = auth.acr ?? acrOf(auth.amr);
    const { amr: keptAmr, acr: kept } = principal.session;
    // The password alone refreshes auth_time but never lowers the session: it must not
    // turn an aal2 session into aal1, nor free a session MFA_REQUIRED holds to enrolment.
    const passwordOnly = auth.amr.length === 1 && auth.amr[0] === AMR.password;
    const keep = passwordOnly && (kept === ACR.twoFactors || kept === ACR.enrolmentRequired);
    const proof = keep ? { authTime: now, amr: [...keptAmr], acr: kept } : { authTime: now, amr: [...auth.amr], acr: fresh };
    if (!(await this.store.recordAuthentication(principal.session.id, proof))) throw new UnauthenticatedError('revoked', 'The session has ended.');
    this.principals.forgetSessions([principal.session.id]);
    return this.access(principal.user, { ...principal.session, ...proof }, now, principal.claims.scope);
  }

  /** SES-03: revocation is server-side; the session's access tokens stop at once. */
  async logout(principal: Principal, scope: LogoutScope, client: ClientContext = {}): Promise<void> {
    const now = this.clock.now();
    const { user, session } = principal;
    const revoked =
      scope === 'local'
        ? (await this.store.revoke(session.id, now))
          ? [session.id]
          : []
        : await this.store.revokeAllForUser(user.id, now, scope === 'others' ? session.id : undefined);
    if (revoked.length > 0) this.emit({ type: 'session.revoked', sessionIds: revoked, userId: user.id });
    await this.audit.record('logout', client, { actorId: user.id, subjectId: user.id, details: { scope, sessions: revoked.length } });
  }

  listActive(userId: string): Promise<Session[]> {
    return this.store.listActiveForUser(userId, this.clock.now());
  }

  /** Ends one of the caller's own sessions; another user's session is reported as not found. */
  async revokeOwn(userId: string, sessionId: string, client: ClientContext = {}): Promise<void> {
    const session = await this.store.findById(sessionId);
    if (!session || session.userId !== userId || session.revokedAt !== null) throw new NotFoundError('ERR_SESSION_NOT_FOUND');
    await this.store.revoke(sessionId, this.clock.now());
    this.emit({ type: 'session.revoked', sessionIds: [sessionId], userId });
    await this.audit.record('session.revoked', client, { actorId: userId, subjectId: userId, details: { session_id: sessionId } });
  }

  /** An admin ends every session of a user (a lost device, a suspected takeover); audited as theirs. */
  async revokeAllOf(actorId: string, userId: string, client: ClientContext = {}): Promise<number> {
    const revoked = await this.store.revokeAllForUser(userId, this.clock.now());
    if (revoked.length > 0) this.emit({ type: 'session.revoked', sessionIds: revoked, userId });
    await this.audit.record('session.revoked', client, { actorId, subjectId: userId, details: { sessions: revoked.length } });
    return revoked.length;
  }

  /** SES-04 and account changes: end every session of a user but, optionally, one. */
  async revokeAll(userId: string, exceptSessionId?: string): Promise<void> {
    const revoked = await this.store.revokeAllForUser(userId, this.clock.now(), exceptSessionId);
    if (revoked.length > 0) this.emit({ type: 'session.revoked', sessionIds: revoked, userId });
  }

  /**
   * Deletes sessions that ended more than `keepMs` ago, with their refresh-token chains. A week's
   * grace keeps a revoked session's tokens recognisable (a late replay still meets "revoked")
   * and its row visible to an operator investigating it.
   */
  async prune(keepMs = 7 * 86_400_000): Promise<number> {
    return this.store.deleteEndedBefore(this.clock.now() - keepMs);
  }

  private isLive(session: Session, user: User, now: number): boolean {
    return session.revokedAt === null && session.expiresAt > now && !user.disabled;
  }

  private grant(user: User, session: Session, refresh: RefreshTokenParts, now: number, scope: string): TokenGrant {
    return { ...this.access(user, session, now, scope), refreshToken: formatRefreshToken(refresh) };
  }

  /** A token response without the refresh token: an access token for the session as it stands. */
  private access(user: User, session: Session, now: number, scope: string): Omit<TokenGrant, 'refreshToken'> {
    const access = this.tokens.mint({
      userId: user.id,
      sessionId: session.id,
      role: user.role,
      clientId: session.clientId,
      scope,
      authTime: session.authTime,
      amr: session.amr,
      acr: session.acr,
      notAfter: session.expiresAt,
    });
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      scope,
      refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt - now) / 1000)),
      user,
      sessionId: session.id,
      amr: session.amr,
    };
  }
}
