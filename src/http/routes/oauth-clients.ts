import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { OAuthClient } from '../../core/model.js';
import type { ClientChanges, ClientWithSecret } from '../../core/oauth/client-service.js';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { optionalBody } from '../plugins/optional-body.js';
import { principalOf, requireAdmin, requireAuthentication } from '../plugins/authenticate.js';
import { PageQuery, bearer, pageOf, problems } from '../schemas/common.js';
import { ClientCreateBody, ClientParams, ClientPatchBody, ClientView, ClientWithSecretView, ConsentView, SecretBody } from '../schemas/oauth-provider.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A client as admins see it: never a secret or its hash, only how many are live. */
export function clientView(c: OAuthClient) {
  return {
    id: c.id,
    name: c.name,
    type: c.type,
    first_party: c.firstParty,
    grant_types: [...c.grantTypes],
    scopes: [...c.scopes],
    redirect_uris: [...c.redirectUris],
    post_logout_redirect_uris: [...c.postLogoutRedirectUris],
    id_token_signed_response_alg: c.idTokenAlg,
    active_secrets: c.secretHashes.length,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** The admin API's fields as the service's names (undefined: left as it is). */
function changesOf(b: Static<typeof ClientPatchBody>): ClientChanges {
  return {
    name: b.name,
    firstParty: b.first_party,
    grantTypes: b.grant_types,
    scopes: b.scopes,
    redirectUris: b.redirect_uris,
    postLogoutRedirectUris: b.post_logout_redirect_uris,
    idTokenAlg: b.id_token_signed_response_alg,
  };
}

const withSecret = ({ client, secret }: ClientWithSecret) => ({ client: clientView(client), client_secret: secret });

/** Registered OAuth clients (admins), and the caller's consents to them (any signed-in user). */
export const oauthClientRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);
  const admin = services.oauth.clients;
  const tags = ['admin'];

  app.get(
    '/admin/clients',
    {
      schema: {
        tags,
        summary: 'OAuth clients, by id (admins only)',
        security: bearer,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: pageOf(ClientView), ...problems(400, 403) },
      },
    },
    async (request) => {
      requireAdmin(request);
      const page = await admin.list({ limit: request.query.limit ?? 20, after: decodeCursor(request.query.cursor) });
      return { items: page.items.map(clientView), next_cursor: encodeCursor(page.next) };
    },
  );

  app.post(
    '/admin/clients',
    {
      schema: {
        tags,
        summary: 'Register an OAuth client (admins only); a confidential client’s secret is in this answer only',
        security: bearer,
        body: ClientCreateBody,
        response: { 201: ClientWithSecretView, ...problems(400, 403) },
      },
    },
    async (request, reply) => {
      const actor = requireAdmin(request).user;
      const b = request.body;
      const created = await admin.create({ ...changesOf(b), name: b.name, type: b.type }, actor.id, contextOf(request));
      return reply.code(201).header('cache-control', 'no-store').header('location', `/admin/clients/${created.client.id}`).send(withSecret(created));
    },
  );

  app.get(
    '/admin/clients/:id',
    { schema: { tags, summary: 'One OAuth client (admins only)', security: bearer, params: ClientParams, response: { 200: ClientView, ...problems(403, 404) } } },
    async (request) => {
      requireAdmin(request);
      return clientView(await admin.get(request.params.id));
    },
  );

  app.patch(
    '/admin/clients/:id',
    {
      schema: {
        tags,
        summary: 'Change an OAuth client (admins only); its type cannot change',
        security: bearer,
        params: ClientParams,
        body: ClientPatchBody,
        response: { 200: ClientView, ...problems(400, 403, 404) },
      },
    },
    async (request) => {
      const actor = requireAdmin(request).user;
      const b = request.body;
      const changes = changesOf(b);
      return clientView(await admin.update(request.params.id, changes, actor.id, contextOf(request)));
    },
  );

  app.post(
    '/admin/clients/:id/secret',
    {
      ...optionalBody,
      schema: {
        tags,
        summary: 'Add a new secret (shown once); the previous one stays valid beside it unless keep_previous is false (admins only)',
        security: bearer,
        params: ClientParams,
        body: SecretBody,
        response: { 200: ClientWithSecretView, ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const actor = requireAdmin(request).user;
      const rotated = await admin.rotateSecret(request.params.id, request.body.keep_previous ?? true, actor.id, contextOf(request));
      return reply.header('cache-control', 'no-store').send(withSecret(rotated));
    },
  );

  app.delete(
    '/admin/clients/:id',
    { schema: { tags, summary: 'Remove an OAuth client (admins only)', security: bearer, params: ClientParams, response: { 204: Type.Null(), ...problems(403, 404) } } },
    async (request, reply) => {
      const actor = requireAdmin(request).user;
      await admin.delete(request.params.id, actor.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/consents',
    {
      schema: {
        tags: ['auth'],
        summary: 'The applications the caller has agreed to share data with',
        security: bearer,
        response: { 200: Type.Object({ items: Type.Array(ConsentView) }) },
      },
    },
    async (request) => {
      const consents = await services.oauth.consents.list(principalOf(request).user.id);
      const items = await Promise.all(
        consents.map(async (c) => ({
          client_id: c.clientId,
          client_name: (await services.clients.find(c.clientId))?.name ?? c.clientId,
          scope: c.scope,
          created_at: iso(c.createdAt),
          updated_at: iso(c.updatedAt),
        })),
      );
      return { items };
    },
  );

  app.delete(
    '/auth/consents/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Withdraw consent from an application; its sessions for the caller end (OIDC-07)',
        security: bearer,
        params: ClientParams,
        response: { 204: Type.Null(), ...problems(404) },
      },
    },
    async (request, reply) => {
      await services.oauth.consents.revoke(principalOf(request).user.id, request.params.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );
};
