import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JWKS_MAX_AGE_SECONDS } from '../../config/index.js';
import type { Services } from '../../services.js';
import { UnavailableError } from '../../core/errors.js';
import { problem } from '../plugins/errors.js';
import { PROBLEM_JSON } from '../openapi.js';
import { GRANT_TYPES } from '../../core/model.js';
import { CLIENT_AUTH_METHODS } from '../../core/oauth/clients.js';
import { OIDC_SCOPES } from '../../core/oauth/scopes.js';

/** Liveness, readiness, and what verifiers need to check tokens offline. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { config } = services;
  // Documents name the URLs clients reach, whatever the issuer string is.
  const base = config.publicUrl;

  // Liveness: the process runs and its event loop turns. Never looks at a dependency, so an
  // orchestrator does not restart healthy processes because the database is away.
  app.get(
    '/health',
    {
      schema: { tags: ['operations'], summary: 'Liveness: the process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    () => ({ status: 'ok' as const }),
  );

  // Readiness: whether this instance can do its job now. Storage must answer a read and take a
  // write (a full disk or a held lock fails it); Redis is reported but not required (limits and
  // invalidations fall back to local ones). Each check is bounded by its dependency's deadline.
  const Checks = Type.Record(Type.String(), Type.String(), { description: '"up", or why not, per dependency' });
  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: storage readable and writable; other dependencies reported',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Checks,
            mail: Type.Optional(
              Type.Object(
                {
                  transport: Type.Union([Type.Literal('smtp'), Type.Literal('development')]),
                  depth: Type.Integer({ description: 'messages waiting in the outbox' }),
                  oldest_due_age_seconds: Type.Integer({ description: 'how long the oldest due message has waited (0: none); reported, never a reason to be unready' }),
                },
                { description: 'the mail outbox (see README "Mail")' },
              ),
            ),
          }),
          // Problem details with the checks, declared under the media type they are sent as.
          503: {
            description: 'Not ready: a required dependency does not answer; try again after Retry-After seconds',
            content: {
              [PROBLEM_JSON]: {
                schema: Type.Object({ type: Type.String(), title: Type.String(), status: Type.Integer(), code: Type.String(), detail: Type.String(), checks: Checks }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const checks: Record<string, string> = {};
      let ready = true;
      const run = async (name: string, required: boolean, check: () => Promise<{ up: boolean; detail?: string }>) => {
        let result: { up: boolean; detail?: string };
        try {
          result = await check();
        } catch (error) {
          result = { up: false, detail: error instanceof UnavailableError ? error.message : 'failed' };
        }
        checks[name] = result.up ? 'up' : `down: ${result.detail ?? 'not answering'}`;
        if (!result.up && required) ready = false;
      };
      await Promise.all([
        run('storage', true, async () => {
          await services.storage.ping('write');
          return { up: true };
        }),
        ...services.dependencies.map((d) => run(d.name, d.required, () => d.check())),
      ]);
      // Mail waiting does not make the instance unready (it can still sign people in): reported only.
      if (ready) return { status: 'ready' as const, checks, mail: await services.outboxHealth().catch(() => undefined) };
      request.log.warn({ checks }, 'not ready');
      reply.header('retry-after', '5');
      return reply
        .code(503)
        .type('application/problem+json')
        .send({ ...problem('ERR_NOT_READY', 'A dependency this service needs is not available.'), checks });
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['keys'],
        summary: 'Public keys that verify access tokens (empty in HS256 mode)',
        response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.String())) }) },
      },
    },
    async (_request, reply) => {
      // Verifiers may cache this long; a rotated key is published for longer than that before it signs.
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      // The ID-token keys (RS256, OIDC-04) beside the access-token keys; none until the first ID token.
      return { keys: [...services.tokens.keyRing.jwks, ...(await services.oauth.idTokens.publicKeys())] };
    },
  );

  // RFC 8414 and OpenID Connect Discovery 1.0: one document body, listing only what is served
  // (no implicit or hybrid response types, no algorithm, grant or endpoint that would fail).
  // Clients that trust metadata must not be told about flows that would fail.
  const methods = [...CLIENT_AUTH_METHODS];
  const metadata = () => ({
    issuer: config.jwt.issuer,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    end_session_endpoint: `${base}/oauth/logout`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES],
    subject_types_supported: ['public'],
    // RS256 for every client by default (OIDC-04); the access tokens' algorithm for a client registered for it.
    id_token_signing_alg_values_supported: services.oauth.idTokens.algorithms(),
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_methods_supported: methods,
    // A public client's id proves nothing: introspection needs a secret (OIDC-06).
    introspection_endpoint_auth_methods_supported: methods.filter((m) => m !== 'none'),
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'amr',
      'sid',
      'at_hash',
      'azp',
      'name',
      'preferred_username',
      'updated_at',
      'email',
      'email_verified',
    ],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
    service_documentation: `${base}/docs`,
  });
  const Strings = Type.Array(Type.String());
  const Metadata = Type.Object({
    issuer: Type.String(),
    authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    userinfo_endpoint: Type.String(),
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    end_session_endpoint: Type.String(),
    jwks_uri: Type.String(),
    scopes_supported: Strings,
    response_types_supported: Strings,
    response_modes_supported: Strings,
    grant_types_supported: Strings,
    subject_types_supported: Strings,
    id_token_signing_alg_values_supported: Strings,
    code_challenge_methods_supported: Strings,
    token_endpoint_auth_methods_supported: Strings,
    revocation_endpoint_auth_methods_supported: Strings,
    introspection_endpoint_auth_methods_supported: Strings,
    claims_supported: Strings,
    prompt_values_supported: Strings,
    authorization_response_iss_parameter_supported: Type.Boolean(),
    request_parameter_supported: Type.Boolean(),
    request_uri_parameter_supported: Type.Boolean(),
    claims_parameter_supported: Type.Boolean(),
    service_documentation: Type.String(),
  });
  for (const [url, summary] of [
    ['/.well-known/oauth-authorization-server', 'OAuth 2.0 Authorization Server Metadata (RFC 8414)'],
    ['/.well-known/openid-configuration', 'OpenID Connect Discovery 1.0'],
  ] as const) {
    app.get(url, { schema: { tags: ['keys'], summary, security: [], response: { 200: Metadata } } }, async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return metadata();
    });
  }
};
