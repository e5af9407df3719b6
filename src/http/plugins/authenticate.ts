import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ForbiddenError, UnauthenticatedError } from '../../core/errors.js';
import type { Principal } from '../../core/auth/session-service.js';
import type { Services } from '../../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([^\s]+) *$/i;

class InvalidAuthRequestError extends AppError {
  constructor(message: string) {
    super('ERR_AUTH_INVALID_REQUEST', message);
  }
}

/**
 * Reads the bearer token: `Authorization: Bearer …`, or `x-access-token` for clients written
 * against the classic tutorials. Never from the URL (SES-06). Two tokens at once are refused
 * rather than guessed between.
 */
export function bearerToken(request: FastifyRequest): string {
  const raw = request.raw.rawHeaders;
  let authorizations = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') authorizations++;
  const alternative = request.headers['x-access-token'];
  if (authorizations > 1 || Array.isArray(alternative) || (authorizations === 1 && alternative !== undefined)) {
    throw new InvalidAuthRequestError('Send exactly one access token.');
  }
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header);
    if (!match) throw new UnauthenticatedError('malformed', 'Use the Bearer scheme: Authorization: Bearer <access token>.');
    return match[1]!;
  }
  if (typeof alternative === 'string' && alternative !== '') return alternative;
  throw new UnauthenticatedError('missing', 'This route needs an access token.');
}

/**
 * Puts every route registered in `scope` behind a valid access token (AC-01). Fastify's
 * encapsulation makes the hook cover exactly this subtree and nothing else.
 */
export function requireAuthentication(scope: FastifyInstance, services: Services): void {
  scope.addHook('onRequest', async (request, reply) => {
    // What one caller may see must not be kept by a shared cache for the next.
    reply.header('cache-control', 'no-store');
    request.principal = await services.sessions.authenticate(bearerToken(request));
  });
}

/** The caller; fails closed should a route ever run without the hook (AC-06). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthenticatedError('missing');
  return request.principal;
}

/** AC-03: admin routes refuse everyone else with 403. */
export function requireAdmin(request: FastifyRequest): Principal {
  const principal = principalOf(request);
  if (principal.user.role !== 'admin') throw new ForbiddenError('This route is for admins.');
  return principal;
}
