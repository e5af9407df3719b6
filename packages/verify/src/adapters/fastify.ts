import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Verifier } from '../create-verifier.js';
import { TokenMissingError } from '../errors.js';
import { bearerToken, check, refusal } from '../lib/respond.js';
import type { AccessTokenClaims, Requirement } from '../types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token's claims (null outside the routes the plugin covers). */
    auth: AccessTokenClaims | null;
  }
}

/** Options of the {@link gatehouse} Fastify plugin. */
export interface GatehousePluginOptions {
  /** Made by `createVerifier`. */
  readonly verifier: Verifier;
  /** Requirements every route of the scope must meet (`requireRole`, `requireScope`). */
  readonly require?: readonly Requirement[];
}

async function refuse(reply: FastifyReply, error: unknown): Promise<FastifyReply> {
  const answer = refusal(error);
  if (answer === null) throw error;
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

const plugin: FastifyPluginAsync<GatehousePluginOptions> = async (app, options) => {
  const { verifier, require: requirements = [] } = options;
  if (typeof verifier?.verify !== 'function') throw new TypeError('@gatehouse/verify/fastify: the verifier option is required');
  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.auth = check(await verifier.verify(bearerToken(request.headers.authorization)), requirements);
    } catch (error) {
      return refuse(reply, error);
    }
  });
};
// What fastify-plugin does, without the dependency: the hook applies to the scope that registers
// the plugin (so put it in the encapsulated plugin of the protected routes), not to a new child.
Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@gatehouse/verify' });

/**
 * Fastify plugin: every route of the scope that registers it needs a valid access token; the claims
 * are on `request.auth`. Refusals are 401/403 with an RFC 6750 `WWW-Authenticate` header and a
 * problem+json body.
 *
 * @example
 * ```ts
 * app.register(async (api) => {
 *   await api.register(gatehouse, { verifier });
 *   api.get('/me', async (request) => ({ user: request.auth!.sub }));
 * });
 * ```
 */
export const gatehouse = plugin;

/**
 * A preHandler for one route with more requirements than its scope (after the plugin ran).
 *
 * @example
 * ```ts
 * api.delete('/items/:id', { preHandler: authorize(requireRole('admin')) }, handler);
 * ```
 */
export function authorize(...requirements: Requirement[]): preHandlerAsyncHookHandler {
  return async function authorizeRequest(request, reply) {
    try {
      // Fails closed if a route ever runs without the plugin's hook.
      if (request.auth == null) throw new TokenMissingError();
      check(request.auth, requirements);
    } catch (error) {
      return refuse(reply, error);
    }
  };
}
