import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS_REPLY, METRICS_REQUEST } from './cluster/primary.js';
import type { AuditEvent } from './core/model.js';
import type { Services } from './services.js';

/**
 * Prometheus metrics of one process. Request metrics are labelled by route template (bounded
 * cardinality); cache ratios are read from the caches' own counters when scraped, so the hot path
 * pays nothing for them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  readonly logins: Counter<'outcome'>;
  readonly refreshReuse: Counter;
  readonly rateLimited: Counter<'route'>;
  private services: Services | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.logins = new Counter({ name: 'gatehouse_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'], registers });
    this.refreshReuse = new Counter({ name: 'gatehouse_refresh_reuse_total', help: 'Rotated refresh tokens presented again (sessions revoked)', registers });
    this.rateLimited = new Counter({ name: 'gatehouse_rate_limited_total', help: 'Requests refused with 429', labelNames: ['route'], registers });
    const metrics = this;
    new Counter({
      name: 'gatehouse_cache_lookups_total',
      help: 'Cache lookups: token = verified access tokens, session = checked sessions',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        const s = metrics.services;
        if (!s) return;
        this.reset();
        this.inc({ cache: 'token', result: 'hit' }, s.tokens.cacheStats.hits);
        this.inc({ cache: 'token', result: 'miss' }, s.tokens.cacheStats.misses);
        this.inc({ cache: 'session', result: 'hit' }, s.sessions.principalCacheStats.hits);
        this.inc({ cache: 'session', result: 'miss' }, s.sessions.principalCacheStats.misses);
      },
    });
    this.registerCircuitMetrics();
  }

  private registerCircuitMetrics(): void {
    const metrics = this;
    const registers = [this.registry];
    new Gauge({
      name: 'gatehouse_dependency_up',
      help: 'Whether a dependency answers (1), or its circuit is open and it is avoided or replaced by a local fallback (0)',
      labelNames: ['dependency'],
      registers,
      collect() {
        this.reset();
        for (const c of metrics.circuits) this.set({ dependency: c.name }, c.state === 'closed' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gatehouse_dependency_outages_total',
      help: 'How many times a dependency\'s circuit has opened since start',
      labelNames: ['dependency'],
      registers,
      collect() {
        this.reset();
        for (const c of metrics.circuits) this.set({ dependency: c.name }, c.openings);
      },
    });
  }

  private clustered = false;
  private nextRequest = 0;

  /**
   * In a cluster worker: answer the primary's collection requests, and serve scrapes with the
   * sum over all workers, so any worker can be scraped.
   */
  reportToPrimary(): void {
    // Constructing one is what makes prom-client answer the primary's requests in this worker.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([this.registry]);
    this.clustered = true;
  }

  /** The text a scrape gets: this process's metrics, or the whole cluster's. */
  async scrape(): Promise<string> {
    if (!this.clustered || !process.send) return this.registry.metrics();
    const id = ++this.nextRequest;
    return new Promise((resolve, reject) => {
      const onMessage = (raw: { tag?: string; id?: number; text?: string; error?: string }) => {
        if (raw?.tag !== METRICS_REPLY || raw.id !== id) return;
        process.off('message', onMessage);
        if (raw.text !== undefined) resolve(raw.text);
        else reject(new Error(raw.error ?? 'no metrics from the primary'));
      };
      process.on('message', onMessage);
      process.send!({ tag: METRICS_REQUEST, id });
    });
  }

  private circuits: readonly { readonly name: string; readonly state: string; readonly openings: number }[] = [];

  /** The dependencies' circuits (storage, redis), reported as gauges when scraped. */
  watchCircuits(circuits: readonly { readonly name: string; readonly state: string; readonly openings: number }[]): void {
    this.circuits = circuits;
  }

  /** The services whose caches are reported. */
  watch(services: Services): void {
    this.services = services;
  }

  /** Counts logins and refresh reuse from the audit events. */
  readonly onAuditEvent = (event: AuditEvent): void => {
    if (event.type === 'login.succeeded') this.logins.inc({ outcome: 'succeeded' });
    else if (event.type === 'login.failed') this.logins.inc({ outcome: 'failed' });
    else if (event.type === 'login.throttled') this.logins.inc({ outcome: 'throttled' });
    else if (event.type === 'refresh.reused') this.refreshReuse.inc();
  };
}
