import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../core/audit.js';

/** Where a request came from, for sessions and the audit log. `request.ip` honours TRUST_PROXY. */
export function contextOf(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id };
}
