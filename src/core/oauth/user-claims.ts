import type { User } from '../model.js';
import { scopeList } from './scopes.js';

/** The OpenID claims of a user for a granted scope (OIDC Core §5.4): `sub` always, more by scope. */
export function userClaims(user: User, scope: string): Record<string, string | number | boolean> {
  const scopes = new Set(scopeList(scope));
  const claims: Record<string, string | number | boolean> = { sub: user.id };
  if (scopes.has('profile')) {
    claims.preferred_username = user.username;
    if (user.name !== null) claims.name = user.name;
    claims.updated_at = Math.floor(user.updatedAt / 1000);
  }
  if (scopes.has('email')) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  return claims;
}
