import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { assertRecentAuthentication } from '../../core/auth/step-up.js';
import type { Services } from '../../services.js';
import { principalOf } from './authenticate.js';

/**
 * Throws 401 `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=…`
 * (RFC 9470) unless the caller's access token says they proved who they are within REAUTH_MAX_AGE.
 * For handlers where only some requests need it (an address change among other profile fields).
 */
export function assertRecentAuth(services: Services, request: FastifyRequest): void {
  assertRecentAuthentication(principalOf(request).claims.auth_time, services.clock.now(), services.config.mfa.reauthMaxAgeMs);
}

/** The same as a route's `preHandler`: `{ preHandler: recentAuth(services) }` on a route behind requireAuthentication. */
export function recentAuth(services: Services): preHandlerAsyncHookHandler {
  return async (request) => assertRecentAuth(services, request);
}
