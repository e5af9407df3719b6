import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUDIT_TYPES } from '../../core/model.js';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { Services } from '../../services.js';
import { auditEventView } from '../../views/audit-event.js';
import { requireAdmin, requireAuthentication } from '../plugins/authenticate.js';
import { IdParam, PageQuery, bearer, pageOf, problems } from '../schemas/common.js';

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

export const adminRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  app.get('/admin/audit', {
    schema: {
      tags: ['admin'],
      summary: 'Security events, newest first (admins only)',
      security: bearer,
      querystring: Type.Object(
        {
          ...PageQuery,
          user: Type.Optional(IdParam),
          type: Type.Optional(Type.Union(AUDIT_TYPES.map((t) => Type.Literal(t)))),
        },
        { additionalProperties: false },
      ),
      response: { 200: pageOf(AuditEventView), ...problems(400, 401, 403) },
    },
  }, async (request) => {
    requireAdmin(request);
    const { limit = 20, cursor, user, type } = request.query;
    const page = await services.audit.list({ limit, before: decodeCursor(cursor), userId: user, type });
    return { items: page.items.map(auditEventView), next_cursor: encodeCursor(page.next) };
  });
};
