import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../core/errors.js';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { principalOf, requireAdmin, requireAuthentication } from '../plugins/authenticate.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { PageQuery, Text, bearer, pageOf, problems } from '../schemas/common.js';
import { CreateUserBody, UpdateUserBody, UserDirectoryEntry, UserDirectoryEntryInline, UserParams, UserView } from '../schemas/users.js';
import { directoryView, userView } from '../views.js';
import { thenOrNow } from '../../core/now-or-later.js';

const DIRECTORY_PAGE = pageOf(UserDirectoryEntryInline);
import { updateOwnProfile } from '../profile.js';
import { PendingEmailView } from '../schemas/email.js';
import { assertRecentAuth } from '../plugins/recent-auth.js';

export const userRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  const isAdmin = (request: FastifyRequest) => request.principal?.user.role === 'admin';
  // Non-admins looking up others spend a budget of their own; admins and a user reading themself do not.
  const directoryBudget = rateLimit(services, RATE_RULES.directory, (request) => {
    const principal = request.principal;
    if (!principal || isAdmin(request) || (request.params as { id?: string }).id === principal.user.id) return null;
    return `user:${principal.user.id}`;
  });

  app.get(
    '/users',
    {
      onRequest: directoryBudget,
      schema: {
        tags: ['users'],
        summary: 'List users, ordered by username',
        description:
          'Admins get full user objects. Other signed-in users get directory entries (`id`, `username`, `name`; no `role`, no `email`), ' +
          `at most ${RATE_RULES.directory.max} directory requests (this list and GET /users/{id} of others) an hour each. ` +
          'With USER_DIRECTORY=off only admins may list users (403 for others).',
        security: bearer,
        querystring: Type.Object({ ...PageQuery, q: Type.Optional(Text({ minLength: 1, maxLength: 64, description: 'username prefix' })) }, { additionalProperties: false }),
        response: { 200: Type.Union([pageOf(Type.Ref(UserView)), pageOf(Type.Ref(UserDirectoryEntry))]), ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const viewer = principalOf(request).user;
      const admin = isAdmin(request);
      if (!admin && !services.config.userDirectory) throw new ForbiddenError('Only admins may list users on this service.');
      const { limit = 20, cursor, q } = request.query;
      const query = { limit, after: decodeCursor(cursor), prefix: q };
      if (admin) {
        const page = await services.users.list(query);
        return { items: page.items.map((u) => userView(u, viewer)), next_cursor: encodeCursor(page.next) };
      }
      const page = await services.users.listDirectory(query);
      // The directory's own schema serializes the answer: whatever the items hold, only its fields go out.
      reply.type('application/json; charset=utf-8').serializer(reply.compileSerializationSchema(DIRECTORY_PAGE));
      return { items: page.items, next_cursor: encodeCursor(page.next) };
    },
  );

  app.get(
    '/users/:id',
    {
      onRequest: directoryBudget,
      schema: {
        tags: ['users'],
        summary: 'One user',
        description: 'The full user to the user themself and to admins; a directory entry (`id`, `username`, `name`) to anyone else, counted against the directory budget.',
        security: bearer,
        params: UserParams,
        response: { 200: Type.Union([Type.Ref(UserView), Type.Ref(UserDirectoryEntry)]), ...problems(400, 401, 404, 429) },
      },
    },
    (request, reply) => {
      const viewer = principalOf(request).user;
      return thenOrNow(services.users.get(request.params.id), (user) => {
        if (isAdmin(request) || viewer.id === user.id) return userView(user, viewer);
        reply.type('application/json; charset=utf-8').serializer(reply.compileSerializationSchema(UserDirectoryEntryInline));
        return directoryView(user);
      });
    },
  );

  app.post(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user (admins only; may set role)',
        security: bearer,
        body: CreateUserBody,
        response: { 201: Type.Ref(UserView), ...problems(400, 401, 403, 409, 503) },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request).user;
      const user = await services.users.create(request.body, admin, contextOf(request));
      return reply.code(201).header('location', `/users/${user.id}`).send(userView(user, admin));
    },
  );

  app.patch(
    '/users/:id',
    {
      onRequest: rateLimit(services, RATE_RULES.profile),
      schema: {
        tags: ['users'],
        summary: 'Change a user (the user or an admin; only admins change role and disabled)',
        security: bearer,
        params: UserParams,
        body: UpdateUserBody,
        description: "A user changing their own `email` gets 202 `{ pending_email }`, as on PATCH /auth/me; an admin changing someone else's sets it at once, unverified.",
        response: { 200: Type.Ref(UserView), 202: PendingEmailView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request).user;
      if (actor.id === request.params.id) {
        // MFA-05: the address is how a password is recovered: changing one's own needs a fresh proof.
        if (request.body.email !== undefined && request.body.email !== actor.email) assertRecentAuth(services, request);
        const result = await updateOwnProfile(services, actor, request.body, contextOf(request));
        if (result.pendingEmail !== null) return reply.code(202).send({ pending_email: result.pendingEmail });
        return userView(result.user, result.user);
      }
      return userView(await services.users.update(actor, request.params.id, request.body, contextOf(request)), actor);
    },
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Delete a user (the user or an admin); their sessions end',
        description: 'Deleting your own account needs recent authentication (401 insufficient_user_authentication otherwise: POST /auth/reauthenticate).',
        security: bearer,
        params: UserParams,
        response: { 204: Type.Null(), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request).user;
      // MFA-05: deleting one's own account cannot be undone: not on the strength of an old token.
      if (actor.id === request.params.id) assertRecentAuth(services, request);
      await services.users.delete(actor, request.params.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );
};
