import { OAuthClientError } from '../errors.js';

// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** The OpenID Connect scopes the provider understands (OIDC Core §5.4 and §11). */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** One scope value of the RFC 6749 §3.3 syntax (at most 128 characters). */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Whether every scope of `scope` is in `granted` (both space-separated). */
export function scopeCovers(granted: string, scope: string): boolean {
  const have = new Set(scopeList(granted));
  return scopeList(scope).every((s) => have.has(s));
}

/**
 * The client-credentials policy (RFC 6749 §4.4.2): a machine client asks for what it was
 * registered for, and a scope outside that is invalid_scope rather than silently dropped, since
 * no user is there to see a narrower grant. No request means everything allowed.
 */
export function strictScope(requested: string | undefined, allowed: readonly string[]): string {
  if (requested === undefined) return allowed.join(' ');
  const granted = grantScope(requested, allowed);
  if (!scopeCovers(granted, requested)) throw new OAuthClientError('ERR_OAUTH_INVALID_SCOPE', 'This client may not have that scope.');
  return granted;
}

/**
 * The scope to grant, space-separated ('' when nothing is granted).
 *
 * Policy (RFC 6749 §3.3 lets the server ignore what it does not know): a requested scope value the
 * client may not have is dropped, never an error, so clients that send `scope=` out of habit keep
 * working; the token response then names what was really granted. No request means everything
 * `allowed`. On a refresh, `allowed` is what the session was granted, so a refresh can narrow the
 * scope but never widen it (§6). Only a malformed value is refused (invalid_scope).
 */
export function grantScope(requested: string | undefined, allowed: readonly string[]): string {
  if (requested === undefined) return allowed.join(' ');
  if (requested === '') return '';
  if (!SCOPE.test(requested)) throw new OAuthClientError('ERR_OAUTH_INVALID_SCOPE', 'The scope parameter is malformed (RFC 6749 §3.3).');
  const wanted = new Set(requested.split(' '));
  return allowed.filter((s) => wanted.has(s)).join(' ');
}

/** A space-separated scope as a list ('' is none). */
export function scopeList(scope: string): string[] {
  return scope === '' ? [] : scope.split(' ');
}
