import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { User } from '../core/model.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import { requestIdFrom } from './context.js';
import { readCredential } from './plugins/authenticate.js';
import { userView } from './views.js';

// Headers that belong to one response, not to every response of the route.
const PER_RESPONSE = new Set(['content-length', 'content-type', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'x-request-id']);

/**
 * The hot path: `GET /auth/me` answered before Fastify is involved, when everything it needs is
 * already in memory: a token this process verified and that has not expired, and a session checked
 * within SESSION_CACHE_TTL, still live, of an enabled user. Anything else (first sight of a token,
 * a stale or missing cache entry, a credential the full route would refuse, CORS, shutting down)
 * falls through to the full
 * Fastify route, which does the same checks the slow way and fills the caches.
 *
 * It stays in step with the full route by construction: it is armed by the first full-route 200,
 * whose security headers it copies, its body is the same view serialised the same way, and
 * revocation, disabling or demotion drop the cache entries it reads (in this process at once, from
 * other processes through the invalidation bus).
 */
export class FastPath {
  private headers: string[] | null = null;
  private closing = false;
  private readonly bodies = new WeakMap<User, string>();

  constructor(
    private readonly services: Services,
    private readonly metrics: Metrics | undefined,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** onSend of the full route: copy its headers once, then serve from memory. */
  readonly arm = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void => {
    if (this.headers === null && reply.statusCode === 200) {
      // Fastify's headers (reply.header) and those set on the raw response (helmet), with the
      // spelling the full route sends. Node has had getRawHeaderNames since 15.13; @types/node 20
      // does not declare it.
      const spelled = new Map((reply.raw as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames().map((n) => [n.toLowerCase(), n]));
      this.headers = Object.entries(reply.getHeaders())
        .filter(([name]) => !PER_RESPONSE.has(name))
        .flatMap(([name, value]) => [spelled.get(name) ?? name, String(value)]);
    }
    done(null, payload);
  };

  /** Stops serving: during shutdown Fastify answers (503 for requests arriving late). */
  close(): void {
    this.closing = true;
  }

  /** Answers the request and returns true, or returns false to let Fastify answer it. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.headers === null || this.closing || req.method !== 'GET' || req.url !== '/auth/me') return false;
    if (req.headers.origin !== undefined && this.services.config.corsOrigins.length > 0) return false;
    // Any problem with the credential is the full route's to answer.
    const credential = readCredential(req.rawHeaders);
    if (!('token' in credential)) return false;
    const principal = this.services.sessions.peekPrincipal(credential.token);
    if (!principal) return false;

    const started = this.metrics ? performance.now() : 0;
    let body = this.bodies.get(principal.user);
    if (body === undefined) {
      body = JSON.stringify(userView(principal.user, principal.user));
      this.bodies.set(principal.user, body);
    }
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.writeHead(200, [...this.headers, 'x-request-id', requestId, 'content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
    if (this.metrics) {
      const labels = { method: 'GET', route: '/auth/me', status: '200' };
      this.metrics.requests.inc(labels);
      this.metrics.duration.observe(labels, (performance.now() - started) / 1000);
    }
    const level = this.log.level;
    if (level === 'info' || level === 'debug' || level === 'trace') {
      this.log.info({ reqId: requestId, req: { method: 'GET', url: '/auth/me' }, res: { statusCode: 200 }, fastPath: true }, 'request completed');
    }
    return true;
  }
}
