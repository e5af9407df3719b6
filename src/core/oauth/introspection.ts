import type { SessionService } from '../auth/session-service.js';
import type { OAuthClient } from '../model.js';

/** An RFC 7662 §2.2 answer: `{ active: false }`, or what an active token is. */
export type Introspection = { readonly active: false } | ({ readonly active: true } & Readonly<Record<string, string | number | boolean>>);

const INACTIVE: Introspection = Object.freeze({ active: false });

/**
 * RFC 7662 for an authenticated client (OIDC-06). A client sees only tokens issued to itself;
 * first-party confidential clients (Gatehouse's own back ends) see every token. Anything else,
 * and every invalid, expired, revoked or rotated token, is `{ active: false }` alone: the answer
 * never tells a token that exists but is not yours from one that does not exist.
 */
export async function introspect(sessions: SessionService, caller: OAuthClient, token: string, audience: string): Promise<Introspection> {
  const found = await sessions.describeToken(token);
  if (!found) return INACTIVE;
  const clientId = found.kind === 'access_token' ? found.claims.client_id : found.session.clientId;
  if (clientId !== caller.id && !(caller.firstParty && caller.type === 'confidential')) return INACTIVE;
  if (found.kind === 'refresh_token') {
    const { session, user } = found;
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: session.clientId,
      sub: user.id,
      username: user.username,
      scope: session.scope,
      exp: Math.floor(session.expiresAt / 1000),
      iat: Math.floor((session.rotatedAt ?? session.createdAt) / 1000),
      sid: session.id,
    };
  }
  const c = found.claims;
  return {
    active: true,
    token_type: 'Bearer',
    client_id: c.client_id,
    sub: c.sub,
    ...(found.user ? { username: found.user.username } : {}),
    scope: c.scope,
    exp: c.exp,
    iat: c.iat,
    iss: c.iss,
    aud: audience,
    jti: c.jti,
    ...(found.session ? { sid: found.session.id } : {}),
  };
}
