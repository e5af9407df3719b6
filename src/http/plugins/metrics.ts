import type { FastifyInstance } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { UnauthenticatedError } from '../../core/errors.js';
import type { Metrics } from '../../metrics.js';
import { bearerToken } from './authenticate.js';
import { problem, sendProblem } from './errors.js';
import { problems } from '../schemas/common.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Counts every answer by route template and status, and serves /metrics. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, metricsToken: string | null): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (reply.statusCode === 429) metrics.rateLimited.inc({ route });
    done();
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (Bearer METRICS_TOKEN when set)',
        // The token is required only when METRICS_TOKEN is set.
        security: [{ bearerAuth: [] }, {}],
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problems(401, 503) },
      },
    },
    async (request, reply) => {
      if (metricsToken !== null) {
        // Compared as digests, so the comparison takes the same time whatever was sent.
        if (!timingSafeEqual(digest(bearerToken(request)), digest(metricsToken))) throw new UnauthenticatedError('invalid', 'The metrics token is not valid.');
      }
      let text: string;
      try {
        text = await metrics.scrape();
      } catch (error) {
        // In a cluster, a primary or worker that does not answer in time: the scrape fails as a
        // whole (a partial sum would look like counters going back) and Prometheus tries again.
        request.log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'cluster metrics unavailable');
        return sendProblem(reply.header('retry-after', '5'), problem('ERR_METRICS_UNAVAILABLE', 'The metrics of every worker could not be gathered; try again shortly.'));
      }
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
