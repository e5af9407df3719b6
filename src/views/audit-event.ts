import type { AuditEvent } from '../core/model.js';

/**
 * An audit event as operators read it: the JSON of GET /admin/audit (whose response schema is the
 * allow-list) and the lines of `gatehouse audit tail`. Here, not in a route file, so that the CLI
 * prints the same record without depending on the HTTP layer.
 */
export function auditEventView(e: AuditEvent) {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    type: e.type,
    actor_id: e.actorId,
    subject_id: e.subjectId,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    details: { ...e.details },
  };
}
