import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ForbiddenError } from '../../core/errors.js';
import type { AuthorizationParams, ContinueOutcome, SignedInUser } from '../../core/oauth/authorization-service.js';
import { openBrowserSession, sealBrowserSession, type BrowserSession } from '../../core/oauth/browser-session.js';
import { scopeList } from '../../core/oauth/scopes.js';
import { userClaims } from '../../core/oauth/user-claims.js';
import type { Principal } from '../../core/auth/session-service.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { DOCUMENT_HEADERS } from '../security-headers.js';
import { strictFormParser } from '../well-formed.js';
import { principalOf, requireAuthentication } from '../plugins/authenticate.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { optionalBody } from '../plugins/optional-body.js';
import { bearer, problems } from '../schemas/common.js';
import { ContinueResponse, RequestParams, UserInfoResponse } from '../schemas/oauth-provider.js';

/** The browser's sign-in at the authorization endpoint (see core/oauth/browser-session.ts). */
export const BROWSER_SESSION_COOKIE = 'gatehouse_op';
// Sent to the provider's endpoints only. Lax, not Strict: it must come along when an application
// sends the browser here (a top-level GET from another site), which Strict would withhold.
const COOKIE_ATTRIBUTES = 'Path=/oauth; HttpOnly; Secure; SameSite=Lax';

function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** A response that is a small HTML page, for the OpenAPI document. */
const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CLEAR_BROWSER_SESSION = `${BROWSER_SESSION_COOKIE}=; Max-Age=0; ${COOKIE_ATTRIBUTES}`;

/** A small page of ours (`body` is HTML the caller escaped), with the document headers. */
function sendPage(reply: FastifyReply, status: number, title: string, body: string, csp?: string): FastifyReply {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
  reply.code(status).headers(DOCUMENT_HEADERS).header('cache-control', 'no-store');
  if (csp !== undefined) reply.header('content-security-policy', csp);
  return reply.type('text/html; charset=utf-8').send(html);
}

/** OIDC-02: a problem with the client or its redirect URI is shown here, never sent anywhere. */
function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  return sendPage(reply, status, title, `<p>${escapeHtml(message)}</p>`);
}

/** Asks before signing out (RP-Initiated Logout §2); the form posts back here, same-origin only. */
function sendSignOutQuestion(reply: FastifyReply): FastifyReply {
  const form = '<p>Sign out of Gatehouse in this browser?</p><form method="post" action="/oauth/logout"><button type="submit">Sign out</button></form>';
  // The API's policy forbids every form; this page has one, which may only post back here.
  return sendPage(reply, 200, 'Sign out', form, "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
}

/** The signed-in user of the hosted pages, from their access token (`amr` once second factors add it). */
function signedInUser(principal: Principal): SignedInUser {
  const claims = principal.claims as Principal['claims'] & { amr?: unknown };
  const amr = Array.isArray(claims.amr) && claims.amr.every((m) => typeof m === 'string') ? (claims.amr as string[]) : ['pwd'];
  return {
    userId: principal.user.id,
    sessionId: principal.session.id,
    clientId: claims.client_id,
    authTime: (claims.auth_time ?? Math.floor(principal.session.createdAt / 1000)) * 1000,
    amr,
  };
}

/**
 * The OpenID provider's browser-facing endpoints: authorization (RFC 6749 §4.1, OIDC Core
 * §3.1.2), the hosted pages' continuation of a parked request, RP-initiated logout, and userinfo.
 */
export const oidcRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { config } = services;
  const key = services.oauth.browserSessionKey;
  const browserOf = (request: FastifyRequest): BrowserSession | null => openBrowserSession(readCookie(request, BROWSER_SESSION_COOKIE), key);
  const setBrowserSession = (reply: FastifyReply, session: BrowserSession) =>
    reply.header('set-cookie', `${BROWSER_SESSION_COOKIE}=${sealBrowserSession(session, key)}; Max-Age=${Math.floor(config.jwt.refreshTokenTtlMs / 1000)}; ${COOKIE_ATTRIBUTES}`);

  app.get(
    '/oauth/authorize',
    {
      onRequest: rateLimit(services, RATE_RULES.revoke),
      schema: {
        tags: ['oauth'],
        summary: 'Authorization endpoint: code flow with PKCE S256 (OAuth 2.1, OpenID Connect)',
        description:
          'Query: client_id, redirect_uri (exactly as registered), response_type=code, code_challenge + code_challenge_method=S256 (required), scope, state, nonce, ' +
          'prompt (none, login, consent), max_age, login_hint. An unknown client or redirect URI is a local error page (OIDC-02); other problems go back to the client ' +
          '(RFC 6749 §4.1.2.1, with `iss` per RFC 9207). Signed in with consent: straight back with a code; otherwise to the hosted pages (/ui/consent).',
        security: [],
        response: { 303: Type.Null({ description: 'to the client, or to /ui/consent' }), 400: html('local error page: unknown client or redirect URI (OIDC-02)') },
      },
    },
    async (request, reply) => {
      const outcome = await services.oauth.authorization.begin(request.query as AuthorizationParams, browserOf(request));
      if (outcome.kind === 'error_page') return sendErrorPage(reply, 400, 'This sign-in request cannot be completed', outcome.message);
      if (outcome.kind === 'redirect') return reply.code(303).header('cache-control', 'no-store').redirect(outcome.url, 303);
      if (!config.ui.enabled) return sendErrorPage(reply, 400, 'Sign-in is not available', 'The hosted sign-in pages are turned off (UI=off).');
      const next = new URLSearchParams({ request: outcome.requestId, ...(outcome.loginHint ? { login_hint: outcome.loginHint } : {}) });
      return reply.code(303).header('cache-control', 'no-store').redirect(`${config.publicUrl}/ui/consent?${next}`, 303);
    },
  );

  // Continuing a parked request from the hosted pages: behind the pages' own access token.
  await app.register(async (scope) => {
    requireAuthentication(scope, services);
    const signedIn = scope.withTypeProvider<TypeBoxTypeProvider>();
    const answer = (reply: FastifyReply, outcome: ContinueOutcome) => {
      if (outcome.action === 'login') return { action: 'login' as const };
      if (outcome.action === 'consent') return { action: 'consent' as const, client: { ...outcome.client }, scopes: [...outcome.scopes] };
      // The browser now holds a sign-in the endpoint can use for the next request (another app, prompt=none).
      setBrowserSession(reply, outcome.browserSession);
      return { action: 'redirect' as const, redirect_to: outcome.url };
    };
    const schema = (summary: string) => ({
      tags: ['oauth'],
      summary,
      security: bearer,
      params: RequestParams,
      response: { 200: ContinueResponse, ...problems(403, 404) },
    });

    signedIn.post(
      '/oauth/authorize/requests/:id',
      { ...optionalBody, schema: { ...schema('Continue an authorization request as the signed-in user (hosted pages)'), body: Type.Object({}, { additionalProperties: false }) } },
      async (request, reply) => answer(reply, await services.oauth.authorization.continue(request.params.id, signedInUser(principalOf(request)))),
    );
    signedIn.post(
      '/oauth/authorize/requests/:id/consent',
      { schema: { ...schema("The user's answer to a consent request (OIDC-07)"), body: Type.Object({ approve: Type.Boolean() }, { additionalProperties: false }) } },
      async (request, reply) =>
        answer(reply, await services.oauth.authorization.decide(request.params.id, signedInUser(principalOf(request)), request.body.approve, contextOf(request))),
    );
  });

  // Userinfo is for the apps users signed in to: the one route third-party tokens may use.
  await app.register(async (scope) => {
    requireAuthentication(scope, services, { thirdParty: true });
    const anyClient = scope.withTypeProvider<TypeBoxTypeProvider>();
    const userinfo = async (request: FastifyRequest): Promise<{ sub: string }> => {
      const principal = principalOf(request);
      // OIDC Core §5.3: userinfo is for tokens granted the openid scope.
      if (!scopeList(principal.claims.scope).includes('openid')) throw new ForbiddenError('This access token was not granted the openid scope.');
      return userClaims(principal.user, principal.claims.scope) as { sub: string };
    };
    const userinfoSchema = {
      tags: ['oauth'],
      summary: 'OpenID Connect userinfo: claims by granted scope',
      security: bearer,
      response: { 200: UserInfoResponse, ...problems(403) },
    };
    anyClient.get('/oauth/userinfo', { schema: userinfoSchema }, userinfo);
    anyClient.post('/oauth/userinfo', { schema: userinfoSchema }, userinfo);
  });

  app.get(
    '/oauth/logout',
    {
      schema: {
        tags: ['oauth'],
        summary: 'RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)',
        description:
          'Query: id_token_hint (an ID token this provider issued, expired or not), post_logout_redirect_uri (exactly one the client registered), state, client_id. ' +
          "With a valid hint: the user's Gatehouse sign-in named by its sid and the user's sessions with that client end. The browser goes back to " +
          'post_logout_redirect_uri when registered, else sees a local page.',
        security: [],
        response: {
          303: Type.Null({ description: 'to the registered post_logout_redirect_uri' }),
          200: html('signed-out page'),
          400: html('the id_token_hint was not issued here'),
        },
      },
    },
    async (request, reply) => {
      // Read by hand, like /oauth/authorize's: OpenID Connect lets clients send parameters this endpoint ignores.
      const query = request.query as Record<string, unknown>;
      const text = (name: string, max: number) => (typeof query[name] === 'string' && (query[name] as string).length <= max ? (query[name] as string) : undefined);
      const [hint, back, state, clientId] = [text('id_token_hint', 8192), text('post_logout_redirect_uri', 2048), text('state', 2048), text('client_id', 256)];
      // RP-Initiated Logout §2: without an ID token of ours, the user is asked. Any site can send a
      // browser here (an <img>), and it must not sign the user out of the provider by doing so.
      if (hint === undefined) return sendSignOutQuestion(reply);
      const claims = await services.oauth.idTokens.verifyHint(hint);
      if (!claims) return sendErrorPage(reply, 400, 'Sign-out request not understood', 'The id_token_hint was not issued here.');
      if (clientId !== undefined && clientId !== claims.aud) return sendErrorPage(reply, 400, 'Sign-out request not understood', 'client_id does not match the id_token_hint.');
      reply.header('set-cookie', CLEAR_BROWSER_SESSION);
      if (claims.sid) {
        const session = await services.storage.sessions.findById(claims.sid);
        if (session?.userId === claims.sub) await services.sessions.end(session.id);
      }
      await services.sessions.endClientSessions(claims.sub, claims.aud);
      await services.audit.record('logout', contextOf(request), { actorId: claims.sub, subjectId: claims.sub, details: { scope: 'rp_initiated', client_id: claims.aud } });
      const client = await services.clients.find(claims.aud);
      // Only to a URI the client registered, exactly; never to one an unverified request names.
      if (back !== undefined && client?.postLogoutRedirectUris.includes(back)) {
        const url = new URL(back);
        if (state !== undefined) url.searchParams.append('state', state);
        return reply.code(303).header('cache-control', 'no-store').redirect(url.href, 303);
      }
      return sendErrorPage(reply, 200, 'Signed out', 'You are signed out of Gatehouse.');
    },
  );

  // The user's answer to the question above: a form of our own page, so the request must be
  // same-origin (a form another site submits is refused and changes nothing).
  const trusted = new Set([new URL(config.publicUrl).origin]);
  await app.register(async (scope) => {
    strictFormParser(scope, config.bodyLimitBytes);
    scope.post(
      '/oauth/logout',
      {
        ...optionalBody,
        schema: {
          tags: ['oauth'],
          summary: "Sign out of this browser's provider sign-in (the confirmation form of GET /oauth/logout)",
          description: 'Same-origin only (Sec-Fetch-Site: same-origin, or an Origin of PUBLIC_URL): ends the sign-in this browser keeps for /oauth/authorize.',
          security: [],
          consumes: ['application/x-www-form-urlencoded'],
          body: Type.Object({}, { additionalProperties: false }),
          response: { 200: html('signed-out page'), ...problems(403) },
        },
      },
      async (request, reply) => {
        const origin = request.headers.origin;
        const ours = request.headers['sec-fetch-site'] === 'same-origin' || (origin !== undefined && trusted.has(origin));
        if (!ours) throw new ForbiddenError('This sign-out form was not sent from this site; nothing changed.', 'ERR_FORBIDDEN_ORIGIN');
        reply.header('set-cookie', CLEAR_BROWSER_SESSION);
        return sendErrorPage(reply, 200, 'Signed out', 'You are signed out of this browser’s Gatehouse sign-in page.');
      },
    );
  });
};
