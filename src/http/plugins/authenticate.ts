import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ForbiddenError, UnauthenticatedError } from '../../core/errors.js';
import type { Principal } from '../../core/auth/session-service.js';
import { ACR } from '../../core/auth/authentication.js';
import type { Services } from '../../services.js';
import { thenOrNow, type NowOrLater } from '../../core/now-or-later.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

// The scheme, in any case (RFC 9110 §11.1), and the spaces after it.
const BEARER = /^Bearer +/i;
const WHITESPACE = /\s/;

const malformed = () => new UnauthenticatedError('malformed', 'Use the Bearer scheme: Authorization: Bearer <access token>.');

class InvalidAuthRequestError extends AppError {
  constructor(message: string) {
    super('ERR_AUTH_INVALID_REQUEST', message);
  }
}

/**
 * The access token a request carries: `Authorization: Bearer …`, or `x-access-token` for clients
 * written against the classic tutorials. Never from the URL (SES-06). Two tokens at once are refused
 * rather than guessed between. Read from the raw header list, so repeated headers are seen.
 */
export function bearerToken(request: FastifyRequest): string {
  const rawHeaders = request.raw.rawHeaders;
  let authorization: string | undefined;
  let alternative: string | undefined;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      authorization = rawHeaders[i + 1];
      count++;
    } else if (name.length === 14 && name.toLowerCase() === 'x-access-token') {
      alternative = rawHeaders[i + 1];
      count++;
    }
  }
  if (count > 1) throw new InvalidAuthRequestError('Send exactly one access token.');
  if (authorization !== undefined) {
    const scheme = BEARER.exec(authorization);
    if (!scheme) throw malformed();
    // Trailing spaces are allowed. Whitespace inside is not, but a token with any never verifies,
    // so `authenticate` looks for it only then: scanning each ~600-character token for it was 1.3%
    // of a cached GET's CPU profile.
    let end = authorization.length;
    while (end > scheme[0].length && authorization.charCodeAt(end - 1) === 0x20) end--;
    if (end === scheme[0].length) throw malformed();
    return authorization.slice(scheme[0].length, end);
  }
  if (alternative) return alternative;
  throw new UnauthenticatedError('missing', 'This route needs an access token.');
}

/** The token's principal; a token that fails for whitespace in it is named malformed, as the header is. */
function authenticate(services: Services, token: string): NowOrLater<Principal> {
  try {
    return services.sessions.authenticate(token);
  } catch (error) {
    throw error instanceof UnauthenticatedError && error.problem === 'invalid' && WHITESPACE.test(token) ? malformed() : error;
  }
}

/** What a subtree behind requireAuthentication accepts beyond first-party tokens. */
export interface AuthenticationOptions {
  /** Also accept tokens of third-party clients (userinfo and other resources meant for them). */
  readonly thirdParty?: boolean;
}

/** The principal if this subtree accepts it; a third-party token on Gatehouse's own API is refused. */
function admitted(principal: Principal, request: FastifyRequest, options: AuthenticationOptions): Principal {
  // Stops a third-party app the user consented to (even for just `openid`) from using the user's, or an admin's, powers here.
  if (!principal.firstParty && !options.thirdParty) {
    throw new ForbiddenError(undefined, 'ERR_THIRD_PARTY_TOKEN');
  }
  return principal;
}

/**
 * Puts every route registered in `scope` behind a valid access token (AC-01) of a first-party
 * client, unless `options` lets third-party tokens in. Fastify's encapsulation makes the hook cover
 * exactly this subtree and nothing else.
 */
export function requireAuthentication(scope: FastifyInstance, services: Services, options: AuthenticationOptions = {}): void {
  // Callback style, answered synchronously when the token and its session are in memory: an async
  // hook would cost a promise and a microtask turn on every request, hit or not.
  scope.addHook('onRequest', (request, _reply, done) => {
    let principal: NowOrLater<Principal>;
    try {
      principal = authenticate(services, bearerToken(request));
    } catch (error) {
      done(error as Error);
      return;
    }
    const admit = (p: Principal) => {
      let refused: Error | undefined;
      try {
        request.principal = admitted(p, request, options);
        refused = enrolmentRefusal(request, p);
      } catch (error) {
        refused = error as Error;
      }
      done(refused);
    };
    void thenOrNow(principal, admit, done);
  });
}

/** What a session held to enrolment (MFA_REQUIRED) may still do: see itself, enrol, sign out. */
const ENROLMENT_ROUTES = new Set([
  'GET /auth/me',
  'GET /auth/mfa',
  'POST /auth/mfa/totp',
  'POST /auth/mfa/totp/:id/confirm',
  'POST /auth/webauthn/register/options',
  'POST /auth/webauthn/register/verify',
  'POST /auth/reauthenticate',
  'POST /auth/logout',
]);

/** MFA_REQUIRED: a user who must add a second factor can do nothing else with the session first. */
function enrolmentRefusal(request: FastifyRequest, principal: Principal): Error | undefined {
  if (principal.session.acr !== ACR.enrolmentRequired || ENROLMENT_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return undefined;
  return new ForbiddenError('Add a second factor (an authenticator app or a passkey) first: POST /auth/mfa/totp or /auth/webauthn/register/options.', 'ERR_MFA_ENROLMENT_REQUIRED');
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
