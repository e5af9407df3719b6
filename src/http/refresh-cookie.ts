import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { ForbiddenError } from '../core/errors.js';
import type { TokenGrant } from '../core/auth/session-service.js';

export const REFRESH_COOKIE = 'gatehouse_refresh';
// Sent only with requests to the routes that use it, never to the rest of the API.
const COOKIE_PATH = '/auth/refresh';

/**
 * Browser mode (REFRESH_COOKIE=true): the refresh token also travels as an HttpOnly cookie, out of
 * reach of page scripts. SameSite=Strict keeps other sites from sending it; the Origin check below
 * is the second line against cross-site request forgery.
 */
export function setRefreshCookie(reply: FastifyReply, grant: TokenGrant): void {
  reply.header(
    'set-cookie',
    `${REFRESH_COOKIE}=${grant.refreshToken}; Path=${COOKIE_PATH}; Max-Age=${grant.refreshExpiresIn}; HttpOnly; Secure; SameSite=Strict`,
  );
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`);
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === REFRESH_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * CSRF: a refresh authorised only by a cookie must come from one of our own origins (the issuer's,
 * or one listed in CORS_ORIGINS). Browsers always send Origin on a cross-origin POST.
 */
export function assertSameOrigin(request: FastifyRequest, config: Config): void {
  const origin = request.headers.origin;
  const allowed = new Set([new URL(config.jwt.issuer).origin, ...config.corsOrigins]);
  if (typeof origin !== 'string' || !allowed.has(origin)) {
    throw new ForbiddenError('A cookie-authorised refresh must come from an allowed Origin.', 'ERR_FORBIDDEN_ORIGIN');
  }
}
