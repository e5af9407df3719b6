import { ForbiddenError } from './errors.js';
import type { Requirement } from './types.js';

/**
 * A requirement that the token's `role` is one of `roles`; otherwise ERR_FORBIDDEN (403).
 *
 * @example
 * ```ts
 * requireRole('admin')(claims); // throws ForbiddenError for a user
 * ```
 */
export function requireRole(...roles: string[]): Requirement {
  if (roles.length === 0 || !roles.every((r) => typeof r === 'string' && r !== '')) throw new TypeError('requireRole: name at least one role');
  const allowed = new Set(roles);
  return (claims) => {
    if (!allowed.has(claims.role)) throw new ForbiddenError(`This resource is for the role ${roles.join(' or ')}.`);
  };
}
