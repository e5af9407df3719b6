import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { Services } from '../../services.js';
import { principalOf, requireAuthentication } from '../plugins/authenticate.js';
import { PageQuery, bearer, pageOf, problems } from '../schemas/common.js';
import { CreateItemBody, ItemParams, ItemView, PatchItemBody, PutItemBody } from '../schemas/items.js';
import { UserId } from '../schemas/users.js';
import { itemView } from '../views.js';
import { thenOrNow } from '../../core/now-or-later.js';

export const itemRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  app.get(
    '/items',
    {
      schema: {
        tags: ['items'],
        summary: 'List items, ordered by name',
        security: bearer,
        querystring: Type.Object({ ...PageQuery, owner: Type.Optional(UserId) }, { additionalProperties: false }),
        response: { 200: pageOf(Type.Ref(ItemView)), ...problems(400, 401) },
      },
    },
    async (request) => {
      const { limit = 20, cursor, owner } = request.query;
      const page = await services.items.list({ limit, after: decodeCursor(cursor), ownerId: owner });
      return { items: page.items.map(itemView), next_cursor: encodeCursor(page.next) };
    },
  );

  app.post(
    '/items',
    {
      schema: {
        tags: ['items'],
        summary: 'Create an item owned by the caller',
        security: bearer,
        body: CreateItemBody,
        response: { 201: Type.Ref(ItemView), ...problems(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const item = await services.items.create(principalOf(request).user, request.body);
      return reply
        .code(201)
        .header('location', `/items/${encodeURIComponent(item.name)}`)
        .send(itemView(item));
    },
  );

  app.get(
    '/items/:name',
    {
      schema: { tags: ['items'], summary: 'One item', security: bearer, params: ItemParams, response: { 200: Type.Ref(ItemView), ...problems(400, 401, 404) } },
    },
    (request) => thenOrNow(services.items.get(request.params.name), itemView),
  );

  app.put(
    '/items/:name',
    {
      schema: {
        tags: ['items'],
        summary: 'Create (anyone) or replace (owner or admin) an item',
        security: bearer,
        params: ItemParams,
        body: PutItemBody,
        response: { 200: Type.Ref(ItemView), 201: Type.Ref(ItemView), ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { item, created } = await services.items.put(principalOf(request).user, request.params.name, request.body);
      return reply.code(created ? 201 : 200).send(itemView(item));
    },
  );

  app.patch(
    '/items/:name',
    {
      schema: {
        tags: ['items'],
        summary: 'Change an item (owner or admin)',
        security: bearer,
        params: ItemParams,
        body: PatchItemBody,
        response: { 200: Type.Ref(ItemView), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => itemView(await services.items.patch(principalOf(request).user, request.params.name, request.body)),
  );

  app.delete(
    '/items/:name',
    {
      schema: { tags: ['items'], summary: 'Delete an item (owner or admin)', security: bearer, params: ItemParams, response: { 204: Type.Null(), ...problems(401, 403, 404) } },
    },
    async (request, reply) => {
      await services.items.delete(principalOf(request).user, request.params.name);
      return reply.code(204).send(null);
    },
  );
};
