import { InsufficientScopeError } from './errors.js';
import type { Requirement } from './types.js';

/**
 * A requirement that the token's `scope` contains every one of `scopes`; otherwise
 * ERR_INSUFFICIENT_SCOPE (403, and the adapters name the scopes in the RFC 6750 challenge).
 *
 * @example
 * ```ts
 * requireScope('items:read', 'items:write')(claims);
 * ```
 */
export function requireScope(...scopes: string[]): Requirement {
  // RFC 6749 §3.3: a scope token is printable ASCII without space, quote or backslash.
  if (scopes.length === 0 || !scopes.every((s) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) throw new TypeError('requireScope: name at least one valid scope');
  return (claims) => {
    const granted = new Set(claims.scope.split(' '));
    if (!scopes.every((s) => granted.has(s))) throw new InsufficientScopeError(scopes);
  };
}
