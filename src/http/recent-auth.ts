import type { Principal } from '../core/auth/session-service.js';
import { ForbiddenError } from '../core/errors.js';
import type { Services } from '../services.js';

/** How recent a sign-in must be for a sensitive change. */
const MAX_AGE_MS = 5 * 60_000;

/**
 * The minimal recent-authentication guard for unlinking an identity: a stolen access token from
 * an old session must not be able to remove the owner's ways back in.
 */
export function assertRecentAuth(principal: Principal, services: Services): void {
  const authTime = principal.claims.auth_time !== undefined ? principal.claims.auth_time * 1000 : principal.session.createdAt;
  if (services.clock.now() - authTime > MAX_AGE_MS) throw new ForbiddenError('Sign in again (within the last 5 minutes) to do this.');
}
