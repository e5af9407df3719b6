import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JWKS_MAX_AGE_SECONDS } from '../../config/index.js';
import type { Services } from '../../services.js';
import { problem, sendProblem } from '../plugins/errors.js';

/** Liveness, readiness, and what verifiers need to check tokens offline. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { config } = services;
  // Documents name the URLs clients reach, whatever the issuer string is.
  const base = config.publicUrl;

  app.get('/health', {
    schema: { tags: ['operations'], summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/ready', {
    schema: { tags: ['operations'], summary: 'Storage answers', response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: Type.Ref('Problem') } },
  }, async (request, reply) => {
    try {
      await services.storage.ping();
      return { status: 'ready' as const };
    } catch (error) {
      request.log.warn({ err: error }, 'storage is not answering');
      return sendProblem(reply, problem(503, 'ERR_NOT_READY', 'Storage is not answering.'));
    }
  });

  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'],
      summary: 'Public keys that verify access tokens (empty in HS256 mode)',
      response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.String())) }) },
    },
  }, async (_request, reply) => {
    // Verifiers may cache this long; a rotated key is published for longer than that before it signs.
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    return { keys: [...services.tokens.keyRing.jwks] };
  });

  app.get('/.well-known/openid-configuration', {
    schema: {
      tags: ['keys'],
      summary: 'Discovery document (RFC 8414 / OpenID Connect Discovery)',
      response: {
        200: Type.Object({
          issuer: Type.String(),
          jwks_uri: Type.String(),
          token_endpoint: Type.String(),
          grant_types_supported: Type.Array(Type.String()),
          response_types_supported: Type.Array(Type.String()),
          token_endpoint_auth_methods_supported: Type.Array(Type.String()),
          id_token_signing_alg_values_supported: Type.Array(Type.String()),
          subject_types_supported: Type.Array(Type.String()),
        }),
      },
    },
  }, async () => ({
    issuer: config.jwt.issuer,
    jwks_uri: `${base}/.well-known/jwks.json`,
    token_endpoint: `${base}/oauth/token`,
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: ['token'],
    token_endpoint_auth_methods_supported: ['none'],
    id_token_signing_alg_values_supported: [config.jwt.algorithm],
    subject_types_supported: ['public'],
  }));
};
