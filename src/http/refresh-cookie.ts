import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../config/index.js';
import { ForbiddenError } from '../core/errors.js';
import type { TokenGrant } from '../core/auth/session-service.js';
import { tokenView, type AccessGrant } from './views.js';

export const REFRESH_COOKIE = 'gatehouse_refresh';
// Sent only with requests to the routes that use it, never to the rest of the API.
const COOKIE_PATH = '/auth/refresh';

/**
 * Browser mode (REFRESH_COOKIE=true): the refresh token also travels as an HttpOnly cookie, out of
 * reach of page scripts. SameSite=Strict keeps other sites from sending it; the Origin check below
 * is the second line against cross-site request forgery.
 */
export function setRefreshCookie(reply: FastifyReply, grant: TokenGrant): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=${grant.refreshToken}; Path=${COOKIE_PATH}; Max-Age=${grant.refreshExpiresIn}; HttpOnly; Secure; SameSite=Strict`);
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`);
}

/**
 * The token response of every route that issues tokens (/auth/login, /auth/refresh, /oauth/token).
 * In browser mode the refresh token goes into the cookie and only there: a page script (or an XSS
 * payload) never sees it.
 */
export function tokenResponse(reply: FastifyReply, grant: AccessGrant, config: Config) {
  if (config.refreshCookie && grant.refreshToken !== undefined) setRefreshCookie(reply, grant as TokenGrant);
  return tokenView(grant, { refreshInCookie: config.refreshCookie });
}

/** One cookie of the request by name (the refresh cookie, the federated sign-in's flow cookie). */
export function readCookie(request: FastifyRequest, cookie: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookie) return value.join('=');
  }
  return undefined;
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  return readCookie(request, REFRESH_COOKIE);
}

/** The origins a browser may call the cookie routes from: ours and those in CORS_ORIGINS. */
function trustedOrigins(config: Config): ReadonlySet<string> {
  // The origin people reach the service at (PUBLIC_URL), whatever string the issuer is.
  return new Set([new URL(config.publicUrl).origin, ...config.corsOrigins]);
}

const forbiddenOrigin = () => new ForbiddenError('This request comes from a site that may not use the sign-in cookie.', 'ERR_FORBIDDEN_ORIGIN');

/**
 * WEB-01, the one rule for every route that sets the refresh cookie or acts on it (login, register,
 * refresh, logout, /oauth/token) in browser mode. Login CSRF: a page on another site auto-submits a
 * form to /auth/login with the attacker's password and the victim's browser stores the attacker's
 * session cookie; a cross-site refresh or logout would spend or end the victim's session. Browsers
 * send `Origin` on every cross-origin POST (form or fetch) and `Sec-Fetch-Site` on every request,
 * so a request is refused when its Origin is neither ours nor allow-listed (`null` included), or
 * when the browser says it is cross-site and no allow-listed Origin vouches for it. A request with
 * neither header does not come from a browser page (curl, a server) and cannot carry a victim's
 * cookie choice, so it goes through. It runs first, in onRequest: a refused request parses no
 * body, checks no password, writes no audit event and spends no rate budget.
 */
export function refuseCrossSite(config: Config): onRequestHookHandler {
  const trusted = trustedOrigins(config);
  return (request, _reply, done) => {
    if (!config.refreshCookie) return done();
    // The browser says the calling page has this very origin: one of our own pages (/ui), whatever
    // name it was reached by (localhost or 127.0.0.1 while the issuer names the other). No page can
    // set Sec-Fetch-* itself, and another site's page is never same-origin with us.
    if (request.headers['sec-fetch-site'] === 'same-origin') return done();
    const origin = request.headers.origin;
    if (origin !== undefined && !trusted.has(origin)) return done(forbiddenOrigin());
    if (origin === undefined && request.headers['sec-fetch-site'] === 'cross-site') return done(forbiddenOrigin());
    done();
  };
}

/**
 * WEB-01: a refresh authorised by the cookie alone must also name its Origin. Every browser that
 * sends the cookie sends Origin with a POST, so a cookie without one is not a page of ours.
 */
export function assertCookieOrigin(request: FastifyRequest): void {
  if (request.headers.origin === undefined) throw forbiddenOrigin();
}
