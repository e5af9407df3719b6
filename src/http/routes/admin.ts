import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUDIT_TYPES } from '../../core/model.js';
import { ValidationError } from '../../core/errors.js';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { Services } from '../../services.js';
import { auditEventView } from '../../views/audit-event.js';
import { contextOf } from '../context.js';
import { requireAdmin, requireAuthentication } from '../plugins/authenticate.js';
import { IdParam, PageQuery, bearer, pageOf, problems } from '../schemas/common.js';
import { UserParams } from '../schemas/users.js';

const AuditEventView = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  type: Type.String(),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  subject_id: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});

// RFC 3339 date-time, with a zone (a time without one would mean whatever the server's zone is).
const DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|z|[+-]\\d{2}:\\d{2})$';

/** A date-time of the right shape as milliseconds; an impossible one (month 13) is a 400 naming the parameter. */
function instant(field: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw ValidationError.field(field, 'must be a date-time such as 2026-11-29T21:00:00Z');
  return ms;
}

export const adminRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  app.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'Security events, newest first (admins only)',
        security: bearer,
        querystring: Type.Object(
          {
            ...PageQuery,
            user: Type.Optional(IdParam),
            type: Type.Optional(Type.Union(AUDIT_TYPES.map((t) => Type.Literal(t)))),
            since: Type.Optional(Type.String({ pattern: DATE_TIME, maxLength: 40, description: 'only events at or after this instant (RFC 3339 date-time)' })),
            until: Type.Optional(Type.String({ pattern: DATE_TIME, maxLength: 40, description: 'only events before this instant (RFC 3339 date-time)' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(AuditEventView), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { limit = 20, cursor, user, type, since, until } = request.query;
      const page = await services.audit.list({ limit, before: decodeCursor(cursor), userId: user, type, since: instant('since', since), until: instant('until', until) });
      return { items: page.items.map(auditEventView), next_cursor: encodeCursor(page.next) };
    },
  );

  app.delete(
    '/users/:id/sessions',
    {
      schema: {
        tags: ['admin'],
        summary: 'End every session of a user (admins only); their access tokens stop working',
        security: bearer,
        params: UserParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request).user;
      // 404 for an unknown user, as the other /users/:id routes answer.
      const user = await services.users.get(request.params.id);
      await services.sessions.revokeAllOf(admin.id, user.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );
};
