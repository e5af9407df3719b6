import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../core/audit.js';
import { newId } from '../core/ids.js';

/** Where a request came from, for sessions and the audit log. `request.ip` honours TRUST_PROXY. */
export function contextOf(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The caller's `x-request-id` when it is a plain token (it goes into logs), else a fresh one: a
 * UUIDv7, so log lines sort by it, made as one flat string. node's randomUUID() joins 20 pieces
 * into a rope, which node then flattens, outside V8's fast path, to check it as a header value.
 */
export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
}
