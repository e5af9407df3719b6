import { strictFormParser } from '../well-formed.js';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InvalidRefreshTokenError, ValidationError } from '../../core/errors.js';
import { FIRST_PARTY_CLIENT_ID } from '../../core/oauth/clients.js';
import { assertCookieOrigin, clearRefreshCookie, readRefreshCookie, refuseCrossSite, tokenResponse } from '../refresh-cookie.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { principalOf, requireAuthentication } from '../plugins/authenticate.js';
import { optionalBody } from '../plugins/optional-body.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { bearer, problems } from '../schemas/common.js';
import { LoginBody, LogoutBody, PasswordBody, RefreshBody, SessionParams, SessionView, TokenResponse } from '../schemas/auth.js';
import { RegisterBody, UpdateMeBody, UserView } from '../schemas/users.js';
import { sessionView, userView } from '../views.js';
import { updateOwnProfile } from '../profile.js';
import { PendingEmailView } from '../schemas/email.js';
import { MfaRequiredResponse } from '../schemas/mfa.js';
import { sendSignIn } from '../sign-in-response.js';
import { assertRecentAuth, recentAuth } from '../plugins/recent-auth.js';
import { NO_STORE } from '../security-headers.js';

/** One of `login`, `username`, `email` must name the account. */
function loginName(body: { login?: string; username?: string; email?: string }): string {
  const given = [body.login, body.username, body.email].filter((v) => v !== undefined);
  if (given.length !== 1) throw ValidationError.field('login', 'send exactly one of login, username or email');
  return given[0]!;
}

/** Register, log in and refresh: the routes a caller reaches without a token. */
export const publicAuthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  // Forms are accepted here only: many clients post them to these endpoints.
  strictFormParser(app, services.config.bodyLimitBytes);
  // WEB-01: before the rate limit, so a cross-site form spends nothing (see refresh-cookie.ts).
  const sameSite = refuseCrossSite(services.config);

  app.post(
    '/auth/register',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.register)],
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: RegisterBody,
        response: { 201: Type.Ref(UserView), ...problems(403, 409, 503) },
      },
    },
    async (request, reply) => {
      // AC-04: only these fields reach the account; the schema already refused any other.
      const { username, email, password, name } = request.body;
      const user = await services.users.create({ username, email, password, name }, null, contextOf(request));
      return reply.code(201).header('location', `/users/${user.id}`).send(userView(user, user));
    },
  );

  app.post(
    '/auth/login',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.login)],
      schema: {
        tags: ['auth'],
        summary: 'Exchange a username or email and password for tokens',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: LoginBody,
        description: 'With a second factor enrolled the answer is 200 `mfa_required` with an `mfa_token` and no tokens: finish at POST /auth/mfa/verify (MFA-08).',
        response: { 200: Type.Union([Type.Ref(TokenResponse), Type.Ref(MfaRequiredResponse)]), ...problems(401, 403, 503) },
      },
    },
    async (request, reply) => {
      const result = await services.auth.login(loginName(request.body), request.body.password, contextOf(request), { clientId: FIRST_PARTY_CLIENT_ID });
      return sendSignIn(reply, result, services.config);
    },
  );

  app.post(
    '/auth/refresh',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.refresh)],
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token: the old one stops working',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: RefreshBody,
        response: { 200: Type.Ref(TokenResponse), ...problems(401, 403) },
      },
      // The body is optional: in browser mode the token comes in the cookie.
      ...optionalBody,
    },
    async (request, reply) => {
      let token = request.body.refresh_token;
      if (token === undefined && services.config.refreshCookie) {
        token = readRefreshCookie(request);
        if (token !== undefined) assertCookieOrigin(request);
      }
      // 401, not 400: to client code a refresh that cannot happen means "sign in again".
      if (token === undefined) throw new InvalidRefreshTokenError('No refresh token was sent: sign in again.');
      const grant = await services.sessions.refresh(token, contextOf(request), { clientId: FIRST_PARTY_CLIENT_ID });
      return reply.headers(NO_STORE).send(tokenResponse(reply, grant, services.config));
    },
  );
};

/** The caller's own account and sessions. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  app.get(
    '/auth/me',
    {
      schema: { tags: ['auth'], summary: 'The caller', security: bearer, response: { 200: Type.Ref(UserView), ...problems(401) } },
    },
    (request) => {
      const { user } = principalOf(request);
      return userView(user, user);
    },
  );

  // A taken email answers 409: the budget keeps that from being a free directory lookup.
  app.patch(
    '/auth/me',
    {
      onRequest: rateLimit(services, RATE_RULES.profile),
      schema: {
        tags: ['auth'],
        summary: "Change the caller's profile",
        description:
          'A new `email` is confirmed first: 202 `{ pending_email }`, a link to the new address and a notice to the old; it applies when the link is followed (unless EMAIL_VERIFICATION=off). Other fields change at once. ' +
          'Changing the email needs recent authentication (401 insufficient_user_authentication otherwise: POST /auth/reauthenticate).',
        security: bearer,
        body: UpdateMeBody,
        response: { 200: Type.Ref(UserView), 202: PendingEmailView, ...problems(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const { user } = principalOf(request);
      // MFA-05: whoever controls the address controls password resets: a change needs a fresh proof.
      if (request.body.email !== undefined && request.body.email !== user.email) assertRecentAuth(services, request);
      const result = await updateOwnProfile(services, user, request.body, contextOf(request));
      if (result.pendingEmail !== null) return reply.code(202).send({ pending_email: result.pendingEmail });
      return userView(result.user, result.user);
    },
  );

  // Guessing the current password with a stolen access token costs the same budget as logging in.
  app.post(
    '/auth/password',
    {
      onRequest: rateLimit(services, RATE_RULES.login),
      preHandler: recentAuth(services),
      schema: {
        tags: ['auth'],
        summary: 'Change the password; every other session ends',
        description: 'Needs recent authentication (REAUTH_MAX_AGE): otherwise 401 insufficient_user_authentication (RFC 9470).',
        security: bearer,
        body: PasswordBody,
        response: { 204: Type.Null(), ...problems(400, 401, 503) },
      },
    },
    async (request, reply) => {
      await services.auth.changePassword(principalOf(request), request.body.current_password, request.body.new_password, contextOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout',
    {
      onRequest: refuseCrossSite(services.config),
      schema: { tags: ['auth'], summary: 'End this session, the others, or all', security: bearer, body: LogoutBody, response: { 204: Type.Null(), ...problems(400, 401, 403) } },
      // The body is optional: no body means scope "local".
      ...optionalBody,
    },
    async (request, reply) => {
      await services.sessions.logout(principalOf(request), request.body.scope ?? 'local', contextOf(request));
      if (services.config.refreshCookie) clearRefreshCookie(reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      schema: { tags: ['auth'], summary: "The caller's live sessions", security: bearer, response: { 200: Type.Object({ items: Type.Array(SessionView) }), ...problems(401) } },
    },
    async (request) => {
      const { user, session } = principalOf(request);
      return { items: (await services.sessions.listActive(user.id)).map((s) => sessionView(s, session.id)) };
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      schema: { tags: ['auth'], summary: "End one of the caller's sessions", security: bearer, params: SessionParams, response: { 204: Type.Null(), ...problems(401, 404) } },
    },
    async (request, reply) => {
      await services.sessions.revokeOwn(principalOf(request).user.id, request.params.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );
};
