import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config/index.js';
import { AppError, ValidationError } from '../../core/errors.js';
import { FederationError } from '../../core/federation/errors.js';
import type { LinkedIdentity } from '../../core/model.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { principalOf, requireAuthentication } from '../plugins/authenticate.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { readCookie, setRefreshCookie, tokenResponse } from '../refresh-cookie.js';
import { bearer, problems } from '../schemas/common.js';
import { TokenResponse } from '../schemas/auth.js';
import { CallbackQuery, IdentityList, IdentityParams, IdentityView, LinkStartView, ProviderList, ProviderParams, StartQuery } from '../schemas/sso.js';
import { optionalBody } from '../plugins/optional-body.js';
import { recentAuth } from '../plugins/recent-auth.js';
import { NoBody } from '../schemas/email.js';
import { NO_STORE } from '../security-headers.js';

const FLOW_COOKIE = 'gatehouse_sso';

/**
 * The flow cookie lives only as long as a flow, and is sent only to this provider's routes.
 * SameSite=Lax, not Strict: the provider's redirect back to the callback is a cross-site
 * top-level navigation, which must carry it.
 */
function flowCookie(provider: string, value: string, maxAgeSeconds: number): string {
  return `${FLOW_COOKIE}=${value}; Path=/auth/sso/${provider}/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`;
}

/** Browser mode with the hosted pages: the callback leads the browser on instead of answering JSON. */
const browserMode = (config: Config) => config.refreshCookie && config.ui.enabled;

/**
 * Where the browser lands. The sign-in page picks up the new session from the refresh cookie and
 * follows `redirect_to` by its own rule (WEB-03: this origin and CORS_ORIGINS only), so one rule
 * decides every redirect after a sign-in.
 */
function landing(page: '/ui/login' | '/ui/account', params: Record<string, string | null>): string {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== null)).toString();
  return query ? `${page}?${query}` : page;
}

/** A refused flow in browser mode: the page that started it says why, in words; else problem+json. */
function refuse(reply: FastifyReply, config: Config, provider: string, error: unknown): FastifyReply {
  // Only the service's own refusals become a page; anything unexpected is a 500 as everywhere.
  if (!(error instanceof AppError) || error.kind === 'internal' || !browserMode(config)) throw error;
  reply.header('set-cookie', flowCookie(provider, '', 0));
  const linking = error instanceof FederationError && error.linking;
  return reply.headers(NO_STORE).redirect(landing(linking ? '/ui/account' : '/ui/login', { sso_error: error.code }), 303);
}

/**
 * WEB-03, the pages' rule (web/src/redirect.ts) applied before the flow starts: `redirect_to` may
 * lead only to this origin or one of CORS_ORIGINS, so a crafted start link is refused here rather
 * than carried through the provider and back.
 */
function assertAllowedRedirect(raw: string | undefined, config: Config): void {
  if (raw === undefined) return;
  let url: URL | null = null;
  try {
    url = new URL(raw, config.publicUrl);
  } catch {
    // Malformed: refused below.
  }
  const allowed =
    url !== null &&
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    (url.origin === new URL(config.publicUrl).origin || config.corsOrigins.includes(url.origin));
  if (!allowed) throw ValidationError.field('redirect_to', 'must lead to this service or one of CORS_ORIGINS');
}

const identityView = (i: LinkedIdentity) => ({
  id: i.id,
  provider: i.provider,
  email: i.email,
  created_at: new Date(i.createdAt).toISOString(),
  last_used_at: new Date(i.lastUsedAt).toISOString(),
});

/** Sign-in through other identity providers: the routes a browser reaches without a token. */
export const publicSsoRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { config, federation } = services;

  app.get('/auth/providers', { schema: { tags: ['sso'], summary: 'The identity providers one can sign in with', response: { 200: ProviderList } } }, async () => ({
    items: await federation.listProviders(),
  }));

  app.get(
    '/auth/sso/:provider/start',
    {
      onRequest: rateLimit(services, RATE_RULES.login),
      schema: {
        tags: ['sso'],
        summary: 'Go to the identity provider (authorization code with PKCE, state and nonce)',
        params: ProviderParams,
        querystring: StartQuery,
        response: { 303: Type.Null(), ...problems(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      assertAllowedRedirect(request.query.redirect_to, config);
      try {
        const { url, flow } = await federation.start(provider, { redirectTo: request.query.redirect_to ?? null, linkUserId: null, linkSessionId: null });
        return reply
          .header('set-cookie', flowCookie(provider, flow, 600))
          .headers(NO_STORE)
          .redirect(url, 303);
      } catch (error) {
        return refuse(reply, config, provider, error);
      }
    },
  );

  app.get(
    '/auth/sso/:provider/callback',
    {
      onRequest: rateLimit(services, RATE_RULES.login),
      schema: {
        tags: ['sso'],
        summary: 'The identity provider sends the browser back here: signs in, or links when started from the account page',
        description:
          'In browser mode (REFRESH_COOKIE=true with the hosted pages) this sets the refresh cookie and leads on (303) to the sign-in page, which follows `redirect_to`; a refusal leads to the page that started it with `sso_error=<code>`. Otherwise it answers like /auth/login.',
        params: ProviderParams,
        querystring: CallbackQuery,
        response: { 200: Type.Union([Type.Ref(TokenResponse), Type.Object({ linked: IdentityView })]), 303: Type.Null(), ...problems(400, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const url = new URL(request.url, config.publicUrl);
      try {
        const result = await federation.complete(provider, url, readCookie(request, FLOW_COOKIE), contextOf(request));
        reply.header('set-cookie', flowCookie(provider, '', 0)).headers(NO_STORE);
        if (result.kind === 'linked') {
          if (browserMode(config)) return reply.redirect(landing('/ui/account', { linked: provider }), 303);
          return { linked: identityView(result.identity) };
        }
        if (browserMode(config)) {
          setRefreshCookie(reply, result.grant);
          return reply.redirect(landing('/ui/login', { redirect_to: result.redirectTo }), 303);
        }
        return tokenResponse(reply, result.grant, config);
      } catch (error) {
        return refuse(reply, config, provider, error);
      }
    },
  );
};

/** The caller's linked identities. */
export const identityRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);
  const { federation } = services;

  app.post(
    '/auth/sso/:provider/link',
    {
      onRequest: rateLimit(services, RATE_RULES.login),
      // A stolen access token must not become a way to add the thief's own way in.
      preHandler: recentAuth(services),
      schema: {
        tags: ['sso'],
        summary: 'Start linking an account at this provider to the caller (from the account page; recent sign-in required)',
        description: 'Sets the flow cookie and answers where to send the browser; the callback links and leads back to /ui/account.',
        security: bearer,
        params: ProviderParams,
        body: NoBody,
        response: { 200: LinkStartView, ...problems(400, 401, 404, 503) },
      },
      // No body, an empty one or `{}`; anything else is refused like every unknown field (IN-01).
      ...optionalBody,
    },
    async (request, reply) => {
      const { provider } = request.params;
      const { user, session } = principalOf(request);
      const { url, flow } = await federation.start(provider, { redirectTo: null, linkUserId: user.id, linkSessionId: session.id });
      return reply.header('set-cookie', flowCookie(provider, flow, 600)).send({ authorization_url: url });
    },
  );

  app.get(
    '/auth/identities',
    { schema: { tags: ['sso'], summary: "The caller's linked identities", security: bearer, response: { 200: IdentityList, ...problems(401) } } },
    async (request) => ({ items: (await federation.identities(principalOf(request).user.id)).map(identityView) }),
  );

  app.delete(
    '/auth/identities/:id',
    {
      // A stolen access token, or a device left signed in, must not remove the owner's ways back in.
      preHandler: recentAuth(services),
      schema: {
        tags: ['sso'],
        summary: 'Unlink an identity (recent sign-in required; never the last way to sign in)',
        security: bearer,
        params: IdentityParams,
        response: { 204: Type.Null(), ...problems(401, 404, 409) },
      },
    },
    async (request, reply) => {
      await federation.unlink(principalOf(request).user, request.params.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );
};
