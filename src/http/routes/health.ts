import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JWKS_MAX_AGE_SECONDS } from '../../config/index.js';
import type { Services } from '../../services.js';
import { UnavailableError } from '../../core/errors.js';
import { problem, sendProblem } from '../plugins/errors.js';
import { PROBLEM_JSON } from '../openapi.js';
import { GRANT_TYPES } from '../../core/model.js';
import { CLIENT_AUTH_METHODS } from '../../core/oauth/clients.js';

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
    async () => ({ status: 'ok' as const }),
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
      return { keys: [...services.tokens.keyRing.jwks] };
    },
  );

  // RFC 8414 metadata, listing only what is served: no authorization endpoint (so no response
  // types), no ID tokens (so no ID-token algorithms), no scopes defined yet. Clients that trust
  // metadata must not be told about flows that would fail.
  const methods = [...CLIENT_AUTH_METHODS];
  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags: ['keys'],
        summary: 'OAuth 2.0 Authorization Server Metadata (RFC 8414)',
        security: [],
        response: {
          200: Type.Object({
            issuer: Type.String(),
            token_endpoint: Type.String(),
            revocation_endpoint: Type.String(),
            jwks_uri: Type.String(),
            grant_types_supported: Type.Array(Type.String()),
            response_types_supported: Type.Array(Type.String(), { description: 'empty: there is no authorization endpoint' }),
            token_endpoint_auth_methods_supported: Type.Array(Type.String()),
            revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
            service_documentation: Type.String(),
          }),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return {
        issuer: config.jwt.issuer,
        token_endpoint: `${base}/oauth/token`,
        revocation_endpoint: `${base}/oauth/revoke`,
        jwks_uri: `${base}/.well-known/jwks.json`,
        grant_types_supported: [...GRANT_TYPES],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: methods,
        revocation_endpoint_auth_methods_supported: methods,
        service_documentation: `${base}/docs`,
      };
    },
  );

  // Until an OpenID provider exists, claiming OIDC discovery would promise ID tokens and an
  // authorization endpoint that are not there (clients validating OIDC metadata fail on it).
  app.get(
    '/.well-known/openid-configuration',
    {
      schema: { tags: ['keys'], summary: 'Not an OpenID provider (yet): 404', security: [], response: { 404: Type.Ref('Problem') } },
    },
    async (_request, reply) =>
      sendProblem(reply, problem('ERR_NOT_FOUND', 'Gatehouse is not an OpenID Connect provider; its OAuth 2.0 metadata is at /.well-known/oauth-authorization-server.')),
  );
};
