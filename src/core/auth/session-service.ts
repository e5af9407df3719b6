import type { AuditLog, RequestContext } from '../audit.js';
import { InvalidRefreshTokenError, NotFoundError, UnauthenticatedError } from '../errors.js';
import { BoundedMap } from '../bounded-map.js';
import { newId } from '../ids.js';
import type { Session, User } from '../model.js';
import type { AuthorizationStore, Clock, RefreshRotation, SessionStore } from '../ports.js';
import type { AccessClaims, AccessTokens } from './access-tokens.js';
import { FIRST_PARTY_CLIENT_ID } from '../oauth/clients.js';
import { grantScope, scopeList } from '../oauth/scopes.js';
import { PrincipalCache, type Entry } from './principal-cache.js';
import { ACR, AMR, PASSWORD_ONLY, acrOf, type Authentication } from './authentication.js';
import { chainTokenId, deriveNext, firstChainToken, formatChainToken, hashSecret, parseChainId, parseChainToken, secretMatches, type ChainToken } from './refresh-tokens.js';
import { thenOrNow, type NowOrLater } from '../now-or-later.js';

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
  /** The new session's id when the caller recorded it beforehand (an authorization code names the session it starts). */
  readonly sessionId?: string;
}

/** A token as introspection sees it (RFC 7662): what it is and, for a user's token, its live session. */
export type TokenDescription =
  | { readonly kind: 'refresh_token'; readonly session: Session; readonly user: User }
  | { readonly kind: 'access_token'; readonly claims: AccessClaims; readonly session: Session | null; readonly user: User | null };

/** The caller of a request, as established from its access token. */
export interface Principal {
  readonly user: User;
  readonly session: Session;
  readonly claims: AccessClaims;
  /**
   * Whether the session belongs to a first-party client (the built-in one, or a registered client
   * marked first-party). Only those tokens are accepted on Gatehouse's own API.
   */
  readonly firstParty: boolean;
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
  /** A client by id (built-in or registered), null when it does not exist (any more). */
  readonly findClient?: (clientId: string) => Promise<{ readonly firstParty: boolean } | null>;
  /** Where revoked client-credentials tokens are recorded; without it they cannot be revoked. */
  readonly revokedClientTokens?: Pick<AuthorizationStore, 'revokeClientToken' | 'isClientTokenRevoked'>;
}

const MAX_USER_AGENT = 512;
/**
 * How many generations back a rotated refresh token is still recognised as one of its chain (and
 * so revokes it when replayed): a token refreshed every minute for 30 days is 43,200 generations;
 * the walk costs about 1 µs a generation.
 */
const MAX_CHAIN_WALK = 100_000;
/** Chains remembered for the one-statement refresh; a chain forgotten takes the full path once. */
const CHAIN_INDEX_LIMIT = 100_000;

/** A client-credentials token: the client is its own subject, and no session stands behind it. */
const isClientToken = (claims: AccessClaims): boolean => claims.sub === claims.client_id && claims.role === 'client';

/** Sessions, refresh-token rotation with reuse detection, and the per-request token check. */
export class SessionService {
  private readonly principals: PrincipalCache;
  /** Which session each chain this process has seen belongs to, by root (a root never moves). */
  private readonly chains = new BoundedMap<string, string>(CHAIN_INDEX_LIMIT);

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

  /** Drops what is remembered of a client's sessions (the client changed or is gone). */
  forgetClient(clientId: string): void {
    this.principals.forgetClient(clientId);
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
    const refresh = firstChainToken();
    const secretHash = hashSecret(refresh.secret);
    const session: Session = {
      id: grant.sessionId ?? newId(now),
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.options.refreshTtlMs,
      revokedAt: null,
      userAgent: client.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      ip: client.ip ?? null,
      refreshId: refresh.root,
      refreshHash: secretHash,
      rotatedAt: null,
      clientId: grant.clientId,
      scope: grant.scope ?? '',
      authTime: Math.min(auth.authTime ?? now, now),
      amr: [...auth.amr],
      acr: auth.acr ?? acrOf(auth.amr),
    };
    await this.store.create(session, { id: refresh.root, sessionId: session.id, secretHash, parentId: null, createdAt: now });
    this.chains.set(refresh.root, session.id);
    return this.grant(user, session, refresh, now, session.scope);
  }

  /**
   * SES-02: rotates the refresh token. The current token is swapped atomically for its successor.
   * Its parent presented again within the grace window gets that same successor (a retry, or a
   * second tab); any other replay of a rotated token revokes the whole session.
   */
  async refresh(token: string, client: ClientContext, request: ClientGrant): Promise<TokenGrant> {
    const presented = parseChainToken(token);
    if (!presented) throw new InvalidRefreshTokenError();
    const now = this.clock.now();
    const presentedId = chainTokenId(presented);
    const successor = deriveNext(presented, this.options.rotationKey);
    const next = { id: chainTokenId(successor), secretHash: hashSecret(successor.secret), at: now };
    const rotated = await this.rotateCurrent(presented, presentedId, successor, next, request);
    if (rotated) return rotated;
    // One read: the chain's root, its session and its user.
    const read = await this.store.findByRefreshToken(presented.root);
    if (!read || !this.vouchedFor(presented, read.token.secretHash, read.session)) throw new InvalidRefreshTokenError();
    let found: { session: Session; user: User } | null = read;
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

    if (found.session.refreshId === presentedId) {
      // One statement, nothing inserted: the session row holds the current token's id and hash.
      if (await this.store.rotateRefresh(found.session.id, presentedId, next)) {
        this.chains.set(presented.root, found.session.id);
        return this.grant(found.user, { ...found.session, refreshId: next.id, rotatedAt: now, lastUsedAt: now }, successor, now, scope);
      }
      // Lost a race with a concurrent refresh of the same token: look at what won.
      found = await this.store.findWithUser(found.session.id);
      if (!found || !this.isLive(found.session, found.user, now)) throw new InvalidRefreshTokenError();
    }
    const { session, user } = found;
    const withinGrace = session.rotatedAt !== null && now - session.rotatedAt <= this.options.reuseGraceMs;
    if (session.refreshId === next.id && withinGrace) {
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

  /**
   * The common refresh, in one statement: the current token of a chain this process has seen. The
   * compare-and-swap on the session's current token id and secret hash is the check and the
   * rotation at once (see SessionStore.rotateCurrent), so nothing is read first. The user comes
   * from the principal cache, as for any authenticated request, unless storage's role differs.
   * Null sends the refresh down the full path, which decides every other case: a rotated token
   * (grace or reuse), another client's session, an ended session, a chain not seen here, a guess.
   */
  private async rotateCurrent(presented: ChainToken, presentedId: string, successor: ChainToken, next: RefreshRotation, request: ClientGrant): Promise<TokenGrant | null> {
    // A narrowed scope is checked before anything rotates, which the full path does.
    if (request.scope !== undefined) return null;
    const sessionId = this.chains.get(presented.root);
    if (sessionId === undefined) return null;
    const current = { id: presentedId, secretHash: hashSecret(presented.secret), clientId: request.clientId };
    const rotated = await this.store.rotateCurrent(sessionId, current, next);
    if (!rotated) return null;
    // The rotation is committed: from here on only a user that no longer exists is refused (the
    // client would otherwise hold a token that a later retry treats as a replay).
    let entry = await this.principals.get(sessionId, this.loadPrincipal);
    if (entry !== null && entry.user.role !== rotated.role) {
      // Changed elsewhere and not yet heard of here: read again (a read after the rotation).
      this.principals.forgetSessions([sessionId]);
      entry = await this.principals.get(sessionId, this.loadPrincipal);
    }
    if (entry === null) throw new InvalidRefreshTokenError();
    return this.grant(entry.user, rotated.session, successor, next.at, grantScope(undefined, scopeList(rotated.session.scope)));
  }

  /**
   * Whether `presented` is a token this session's chain really issued, current or rotated: only
   * then may it rotate the chain, or, replayed, revoke it (a guessed token must do neither). A root
   * is checked against its own row's hash. A later token has no row: the chain is derived forward
   * from it to the current token, whose hash the session keeps; a token that does not lead there
   * was not issued. The walk is bounded, so a presented generation cannot make us work without end.
   */
  private vouchedFor(presented: ChainToken, rootHash: string, session: Session): boolean {
    if (presented.generation === 0) return secretMatches(presented.secret, rootHash);
    const current = parseChainId(session.refreshId);
    if (!current || current.root !== presented.root || session.refreshHash === null) return false;
    const steps = current.generation - presented.generation;
    if (steps < 0 || steps > MAX_CHAIN_WALK) return false;
    let token = presented;
    for (let i = 0; i < steps; i++) token = deriveNext(token, this.options.rotationKey);
    return secretMatches(token.secret, session.refreshHash);
  }

  /** The session of a refresh token this server issued (current or rotated); null for anything else. */
  private async refreshTokenSession(token: string): Promise<Session | null> {
    const presented = parseChainToken(token);
    if (!presented) return null;
    const read = await this.store.findByRefreshToken(presented.root);
    return read && this.vouchedFor(presented, read.token.secretHash, read.session) ? read.session : null;
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
    const presented = parseChainToken(token);
    const claims = presented ? null : this.verifiedClaims(token);
    if (claims && isClientToken(claims)) return this.revokeClientToken(claims, clientId, client);
    const session = presented ? await this.refreshTokenSession(token) : claims ? await this.store.findById(claims.sid) : null;
    if (!session) return;
    if (session.clientId !== clientId) {
      await this.audit.record('client.mismatch', client, { subjectId: session.userId, details: { session_id: session.id, client_id: clientId, operation: 'revoke' } });
      return;
    }
    if (!(await this.store.revoke(session.id, this.clock.now()))) return;
    this.emit({ type: 'session.revoked', sessionIds: [session.id], userId: session.userId });
    await this.audit.record('token.revoked', client, { subjectId: session.userId, details: { session_id: session.id, client_id: clientId } });
  }

  /**
   * A client-credentials token has no session to end: its id is recorded until it would have
   * expired, and describeToken reads that record. Only the client it was issued to may revoke it.
   */
  private async revokeClientToken(claims: AccessClaims, clientId: string, client: ClientContext): Promise<void> {
    if (claims.client_id !== clientId) {
      await this.audit.record('client.mismatch', client, { details: { client_id: clientId, operation: 'revoke' } });
      return;
    }
    if (!this.options.revokedClientTokens) return;
    await this.options.revokedClientTokens.revokeClientToken(claims.jti, clientId, claims.exp * 1000);
    await this.audit.record('token.revoked', client, { details: { client_id: clientId, jti: claims.jti } });
  }

  /**
   * What a token is, if it is valid and live now; null otherwise. Reads storage, never the
   * principal cache: an introspection answer must reflect a revocation made on any instance at once.
   * A client's own token (client_credentials) has no session: it lives until it expires, is
   * revoked, or its client is deleted.
   */
  async describeToken(token: string): Promise<TokenDescription | null> {
    const now = this.clock.now();
    const presented = parseChainToken(token);
    if (presented) {
      const found = await this.store.findByRefreshToken(presented.root);
      // A rotated refresh token is no longer usable, so no longer active.
      if (!found || found.session.refreshId !== chainTokenId(presented) || !this.vouchedFor(presented, found.token.secretHash, found.session)) return null;
      if (!this.isLive(found.session, found.user, now)) return null;
      return { kind: 'refresh_token', session: found.session, user: found.user };
    }
    const claims = this.verifiedClaims(token);
    if (!claims) return null;
    if (isClientToken(claims)) {
      // A deleted client's tokens die with it; a revoked one is recorded.
      if (this.options.findClient && !(await this.options.findClient(claims.client_id))) return null;
      if (await this.options.revokedClientTokens?.isClientTokenRevoked(claims.jti)) return null;
      return { kind: 'access_token', claims, session: null, user: null };
    }
    const found = await this.store.findWithUser(claims.sid);
    if (!found || found.session.userId !== claims.sub || !this.isLive(found.session, found.user, now)) return null;
    return { kind: 'access_token', claims, ...found };
  }

  /** Ends one session, whoever it belongs to (a replayed authorization code, RP-initiated logout). */
  async end(sessionId: string): Promise<boolean> {
    const session = await this.store.findById(sessionId);
    if (!session || !(await this.store.revoke(sessionId, this.clock.now()))) return false;
    this.emit({ type: 'session.revoked', sessionIds: [sessionId], userId: session.userId });
    return true;
  }

  /** Ends every live session a user has with one client (consent withdrawn, RP-initiated logout). */
  async endClientSessions(userId: string, clientId: string): Promise<number> {
    const sessions = (await this.store.listActiveForUser(userId, this.clock.now())).filter((s) => s.clientId === clientId);
    let ended = 0;
    for (const session of sessions) if (await this.end(session.id)) ended++;
    return ended;
  }

  /** Ends every live session of a client that is gone (deleted); returns how many ended. */
  async endAllForClient(clientId: string): Promise<number> {
    const revoked = await this.store.revokeAllForClient(clientId, this.clock.now());
    const byUser = new Map<string, string[]>();
    for (const { id, userId } of revoked) byUser.set(userId, [...(byUser.get(userId) ?? []), id]);
    for (const [userId, sessionIds] of byUser) this.emit({ type: 'session.revoked', sessionIds, userId });
    return revoked.length;
  }

  /** The claims of a valid, unexpired access token; null for anything else. */
  private verifiedClaims(token: string): AccessClaims | null {
    try {
      return this.tokens.verify(token);
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
  authenticate(accessToken: string): NowOrLater<Principal> {
    const claims = this.tokens.verify(accessToken);
    return thenOrNow(this.principals.get(claims.sid, this.loadPrincipal), (found) => this.principal(claims, found));
  }

  // The client is looked up once per load and cached with the session, so a cache hit costs nothing more.
  private readonly loadPrincipal = async (sessionId: string): Promise<Entry | null> => {
    const found = await this.store.findWithUser(sessionId);
    if (!found) return null;
    const { clientId } = found.session;
    const firstParty = clientId === FIRST_PARTY_CLIENT_ID || ((await this.options.findClient?.(clientId))?.firstParty ?? false);
    return { ...found, firstParty };
  };

  private principal(claims: AccessClaims, found: Entry | null): Principal {
    if (!found || found.session.userId !== claims.sub || !this.isLive(found.session, found.user, this.clock.now())) {
      throw new UnauthenticatedError('revoked', 'The session has ended.');
    }
    return { user: found.user, session: found.session, claims, firstParty: found.firstParty };
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

  /** Whether the session is still live (not revoked, not expired) and the user's. */
  async isSessionLive(sessionId: string, userId: string): Promise<boolean> {
    const found = await this.store.findWithUser(sessionId);
    return found !== null && found.session.userId === userId && this.isLive(found.session, found.user, this.clock.now());
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

  private async grant(user: User, session: Session, refresh: ChainToken, now: number, scope: string): Promise<TokenGrant> {
    return { ...(await this.access(user, session, now, scope)), refreshToken: formatChainToken(refresh) };
  }

  /** A token response without the refresh token: an access token for the session as it stands. */
  private async access(user: User, session: Session, now: number, scope: string): Promise<Omit<TokenGrant, 'refreshToken'>> {
    const access = await this.tokens.mint({
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
