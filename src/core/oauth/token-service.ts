import type { AuditLog, RequestContext } from '../audit.js';
import type { AccessTokens } from '../auth/access-tokens.js';
import { hashSecret } from '../auth/refresh-tokens.js';
import type { ClientContext, SessionService, TokenGrant } from '../auth/session-service.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { AuthorizationCode, OAuthClient } from '../model.js';
import type { AuthorizationStore, Clock, UserStore } from '../ports.js';
import type { IdTokens } from './id-tokens.js';
import { verifierMatches } from './pkce.js';
import { scopeList, strictScope } from './scopes.js';
import { userClaims } from './user-claims.js';

/** A token response of the authorization code grant: the session's tokens, and an ID token for `openid`. */
export interface CodeGrant {
  readonly grant: TokenGrant;
  readonly idToken: string | null;
  /** Whether the refresh token goes to the client (first-party, or `offline_access` granted). */
  readonly withRefreshToken: boolean;
}

/** A client-credentials token response (RFC 6749 §4.4.3: no refresh token). */
export interface ClientGrantResult {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
}

const invalidGrant = (why: string) => new AppError('ERR_OAUTH_INVALID_GRANT', `The authorization code is not valid: ${why}.`);

/** The grants of the OAuth provider: authorization code (with PKCE) and client credentials. */
export class OAuthTokenService {
  constructor(
    private readonly codes: AuthorizationStore,
    private readonly users: UserStore,
    private readonly sessions: SessionService,
    private readonly tokens: AccessTokens,
    private readonly idTokens: IdTokens,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /**
   * RFC 6749 §4.1.3 with PKCE (OIDC-01/03): the code must be this client's, for this redirect URI,
   * unexpired, unused, and the verifier must match its challenge. A code presented a second time is
   * refused and the session its first use started is revoked: the code leaked.
   */
  async redeemCode(client: OAuthClient, code: string, redirectUri: string | undefined, verifier: string | undefined, context: ClientContext): Promise<CodeGrant> {
    const found = await this.codes.findCode(hashSecret(code));
    if (!found) throw invalidGrant('unknown code');
    if (found.usedAt !== null) {
      await this.revokeReplayed(found, found.sessionId, client.id, context);
      throw invalidGrant('the code was already used; the tokens it gave are revoked');
    }
    if (found.expiresAt <= this.clock.now()) throw invalidGrant('the code has expired');
    // Another client's code, or a code bound to another redirect URI or verifier, is refused
    // without being spent: the client it belongs to may still redeem it.
    if (found.clientId !== client.id) throw invalidGrant('the code was issued to another client');
    if (redirectUri !== found.redirectUri) throw invalidGrant('redirect_uri differs from the authorization request');
    if (!verifier || !verifierMatches(verifier, found.codeChallenge)) throw invalidGrant('code_verifier does not match the code_challenge');
    const user = await this.users.findById(found.userId);
    if (!user || user.disabled) throw invalidGrant('the user is not active');
    const sessionId = newId(this.clock.now());
    if (!(await this.codes.redeemCode(found.id, sessionId, this.clock.now()))) {
      // Lost a race with another redemption of the same code: a replay all the same.
      const winner = await this.codes.findCode(found.id);
      await this.revokeReplayed(found, winner?.sessionId ?? null, client.id, context);
      throw invalidGrant('the code was already used; the tokens it gave are revoked');
    }
    const grant = await this.sessions.start(user, context, { clientId: client.id, scope: found.scope, sessionId });
    // OIDC-03: a replay that arrived between marking the code used and starting the session found
    // nothing to revoke; it left its mark on the code instead, and the session ends here.
    const after = await this.codes.findCode(found.id);
    if (after && after.replayedAt !== null) {
      await this.sessions.end(sessionId);
      await this.audit.record('oauth.code_replayed', context, { subjectId: user.id, details: { client_id: client.id, session_id: sessionId, revoked: true } });
      throw invalidGrant('the code was presented twice; the tokens it gave are revoked');
    }
    const scopes = scopeList(found.scope);
    const idToken = scopes.includes('openid')
      ? await this.idTokens.sign({
          userId: user.id,
          clientId: client.id,
          sessionId: found.browserSessionId,
          authTime: found.authTime,
          amr: found.amr,
          nonce: found.nonce,
          accessToken: grant.accessToken,
          claims: userClaims(user, found.scope),
          alg: client.idTokenAlg,
        })
      : null;
    await this.audit.record('login.succeeded', context, {
      actorId: user.id,
      subjectId: user.id,
      details: { session_id: grant.sessionId, client_id: client.id, grant: 'authorization_code' },
    });
    // Checked again here: the client's registration may have changed since the code was issued.
    const offline = scopes.includes('offline_access') && client.scopes.includes('offline_access');
    const withRefreshToken = client.grantTypes.includes('refresh_token') && (client.firstParty || offline);
    return { grant, idToken, withRefreshToken };
  }

  private async revokeReplayed(code: AuthorizationCode, sessionId: string | null, clientId: string, context: RequestContext): Promise<void> {
    // Marked before ending the session: a redemption that has not started it yet sees the mark
    // when it re-reads the code; one that has is ended here. Either way nothing outlives the replay.
    await this.codes.markCodeReplayed(code.id, this.clock.now());
    const revoked = sessionId !== null && (await this.sessions.end(sessionId));
    await this.audit.record('oauth.code_replayed', context, { subjectId: code.userId, details: { client_id: clientId, session_id: sessionId, revoked } });
  }

  /** RFC 6749 §4.4: a confidential client's token for itself, within its registered scopes; every issuance audited. */
  async clientCredentials(client: OAuthClient, requestedScope: string | undefined, context: RequestContext): Promise<ClientGrantResult> {
    const scope = strictScope(requestedScope, client.scopes);
    const issued = await this.tokens.mintForClient(client.id, scope);
    await this.audit.record('token.issued', context, { details: { client_id: client.id, grant: 'client_credentials', scope } });
    return { accessToken: issued.token, expiresIn: issued.expiresIn, scope };
  }
}
