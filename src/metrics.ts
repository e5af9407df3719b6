import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { AuditEvent } from './core/model.js';
import type { Services } from './services.js';

/**
 * Prometheus metrics of one process. Request metrics are labelled by route template (bounded
 * cardinality); cache ratios are read from the caches' own counters when scraped, so the hot path
 * pays nothing for them.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Answers by method, route template and status, with their durations. */
  readonly requests = new RequestCells();
  readonly logins: Counter<'outcome'>;
  readonly refreshReuse: Counter;
  readonly rateLimited: Counter<'route'>;
  private services: Services | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    const registers = [this.registry];
    this.requests.register(this.registry);
    this.logins = new Counter({ name: 'gatehouse_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'], registers });
    this.refreshReuse = new Counter({ name: 'gatehouse_refresh_reuse_total', help: 'Rotated refresh tokens presented again (sessions revoked)', registers });
    this.rateLimited = new Counter({ name: 'gatehouse_rate_limited_total', help: 'Requests refused with 429', labelNames: ['route'], registers });
    // prom-client calls collect() with `this` bound to the metric, so what it reads comes through arrows.
    const services = () => this.services;
    new Counter({
      name: 'gatehouse_cache_lookups_total',
      help: 'Cache lookups: token = verified access tokens, session = checked sessions',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        const s = services();
        if (!s) return;
        this.reset();
        this.inc({ cache: 'token', result: 'hit' }, s.tokens.cacheStats.hits);
        this.inc({ cache: 'token', result: 'miss' }, s.tokens.cacheStats.misses);
        this.inc({ cache: 'session', result: 'hit' }, s.sessions.principalCacheStats.hits);
        this.inc({ cache: 'session', result: 'miss' }, s.sessions.principalCacheStats.misses);
      },
    });
    // Read from the outbox table at scrape time; every worker sees the same table, so the cluster
    // figure is the largest, not the sum. Both gauges share one read per scrape: the collects run
    // together, and the second joins the query the first started.
    let outboxRead: ReturnType<Services['outboxHealth']> | null = null;
    const outbox = (s: Services) =>
      (outboxRead ??= s.outboxHealth().finally(() => {
        outboxRead = null;
      }));
    new Gauge({
      name: 'gatehouse_mail_outbox_depth',
      help: 'Messages waiting in the mail outbox',
      registers,
      aggregator: 'max',
      async collect() {
        const s = services();
        if (s) this.set((await outbox(s)).depth);
      },
    });
    new Gauge({
      name: 'gatehouse_mail_outbox_oldest_due_age_seconds',
      help: 'How long the oldest due message in the mail outbox has waited (0 when none is due)',
      registers,
      aggregator: 'max',
      async collect() {
        const s = services();
        if (s) this.set((await outbox(s)).oldest_due_age_seconds);
      },
    });
    this.registerCircuitMetrics();
    conformToNamingRules(this.registry);
  }

  private registerCircuitMetrics(): void {
    const circuits = () => this.circuits;
    const registers = [this.registry];
    new Gauge({
      name: 'gatehouse_dependency_up',
      help: 'Whether a dependency answers (1), or its circuit is open and it is avoided or replaced by a local fallback (0)',
      labelNames: ['dependency'],
      registers,
      collect() {
        this.reset();
        for (const c of circuits()) this.set({ dependency: c.name }, c.state === 'closed' ? 1 : 0);
      },
    });
    // A counter (it only grows), read from the circuits when scraped.
    new Counter({
      name: 'gatehouse_dependency_outages_total',
      help: "How many times a dependency's circuit has opened since start",
      labelNames: ['dependency'],
      registers,
      collect() {
        this.reset();
        for (const c of circuits()) if (c.openings > 0) this.inc({ dependency: c.name }, c.openings);
      },
    });
  }

  private cluster: (() => Promise<string>) | null = null;

  /**
   * In a cluster worker: scrapes are served with the sum over all workers, which `cluster` fetches
   * (from the primary), so any worker can be scraped.
   */
  aggregateWith(cluster: () => Promise<string>): void {
    this.cluster = cluster;
  }

  /** The text a scrape gets: this process's metrics, or the whole cluster's. */
  scrape(): Promise<string> {
    return this.cluster ? this.cluster() : this.registry.metrics();
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

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface RequestLabels {
  readonly method: string;
  readonly route: string;
  readonly status: string;
}

/** The answers of one method, route template and status: their count, total and histogram buckets. */
class RequestCell {
  count = 0;
  sum = 0;
  /** Per bucket, not cumulative; the last is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);

  constructor(readonly labels: RequestLabels) {}

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
  }
}

/**
 * `gatehouse_http_requests_total` and `gatehouse_http_request_duration_seconds`. prom-client's
 * counter and histogram hash their label set on every call (0.6 µs for the pair, a tenth of a cached
 * GET here), so each answer is recorded into a cell found by route, method and status through a Map
 * and two property lookups, and the cells become samples only when scraped, in prom-client's own
 * JSON shape (its registry formats them and its cluster aggregation sums them like its own).
 */
export class RequestCells {
  private readonly byRoute = new Map<string, Record<string, Map<number, RequestCell>>>();
  private readonly cells: RequestCell[] = [];

  record(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = Object.create(null) as Record<string, Map<number, RequestCell>>));
    const byStatus = (byMethod[method] ??= new Map());
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = new RequestCell({ method, route, status: String(status) });
      byStatus.set(status, cell);
      this.cells.push(cell);
    }
    cell.observe(seconds);
  }

  /** Puts both families into `registry`. */
  register(registry: Registry): void {
    const family = (name: string, help: string, type: 'counter' | 'histogram', values: () => object[]) => {
      const metric = { name, help, type, aggregator: 'sum' };
      // prom-client's registry takes any metric that has these fields and get(); its own classes
      // would hash labels per call, which is what this avoids.
      registry.registerMetric({ ...metric, get: async () => ({ ...metric, values: values() }) } as unknown as Metric);
    };
    family('gatehouse_http_requests_total', 'HTTP requests answered', 'counter', () => this.cells.map((c) => ({ labels: c.labels, value: c.count })));
    const durations = 'gatehouse_http_request_duration_seconds';
    family(durations, 'Time to answer an HTTP request', 'histogram', () =>
      this.cells.flatMap((c) => {
        let cumulative = 0;
        const buckets = [...DURATION_BUCKETS, '+Inf' as const].map((le, i) => {
          cumulative += c.buckets[i]!;
          return { labels: { le, ...c.labels }, value: cumulative, metricName: `${durations}_bucket` };
        });
        return [...buckets, { labels: c.labels, value: c.sum, metricName: `${durations}_sum` }, { labels: c.labels, value: c.count, metricName: `${durations}_count` }];
      }),
    );
  }
}

// Tokens of a metric name that promtool refuses: abbreviated units and units that are not the base
// unit (Prometheus wants seconds, bytes, ratios), and metric types spelled into the name.
const ABBREVIATED_UNITS = new Set(['s', 'ms', 'us', 'ns', 'sec', 'secs', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd']);
const NON_BASE_UNITS = new Set([
  'milliseconds',
  'microseconds',
  'nanoseconds',
  'minutes',
  'hours',
  'days',
  'weeks',
  'kilobytes',
  'megabytes',
  'gigabytes',
  'terabytes',
  'bits',
  'percent',
  'percentage',
  'celsius',
  'fahrenheit',
  'grams',
  'kilograms',
]);
const TYPE_WORDS = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * What `promtool check metrics` (client_golang's promlint) says about one metric family, as a list
 * of problems: counters end in `_total` and nothing else does; `_count`, `_sum` and `_bucket` belong
 * to histograms and summaries; HELP is present; names are snake_case without the `:` reserved for
 * recording rules; base units, spelled out; no type in the name.
 */
export function namingProblems(name: string, type: string, help: string): string[] {
  const problems: string[] = [];
  const kind = type.toLowerCase();
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) problems.push('must be lower snake_case, without ":"');
  if (kind === 'counter' && !name.endsWith('_total')) problems.push('a counter must end in "_total"');
  if (kind !== 'counter' && name.endsWith('_total')) problems.push('only counters end in "_total"');
  if (kind !== 'histogram' && kind !== 'summary' && /_(count|sum|bucket)$/.test(name)) problems.push('"_count", "_sum" and "_bucket" are reserved for histograms and summaries');
  if (help.trim() === '') problems.push('HELP is missing');
  for (const token of name.split('_')) {
    if (ABBREVIATED_UNITS.has(token)) problems.push(`unit "${token}" is abbreviated`);
    if (NON_BASE_UNITS.has(token)) problems.push(`"${token}" is not a base unit`);
    if (TYPE_WORDS.has(token)) problems.push(`the name contains the metric type "${token}"`);
  }
  return problems;
}

/**
 * prom-client's default metrics publish `nodejs_active_handles_total`, `nodejs_active_requests_total`
 * and `nodejs_active_resources_total` as gauges, which promtool refuses (a gauge must not look like a
 * counter). Each is the sum of the per-type gauge of the same name without the suffix
 * (`sum(nodejs_active_handles)`), so those totals are dropped rather than renamed. Anything else that
 * breaks a naming rule is a programming error, found when the registry is built (and by the tests),
 * never at scrape time. Worker registries are built here too, so the cluster-wide sum is the same.
 */
export function conformToNamingRules(registry: Registry): void {
  const metrics = registry.getMetricsAsArray();
  const names = new Set(metrics.map((m) => m.name));
  for (const metric of metrics) {
    if (String(metric.type) === 'gauge' && metric.name.endsWith('_total') && names.has(metric.name.slice(0, -'_total'.length))) {
      registry.removeSingleMetric(metric.name);
    }
  }
  const problems = registry.getMetricsAsArray().flatMap((m) => namingProblems(m.name, String(m.type), m.help).map((p) => `${m.name}: ${p}`));
  if (problems.length > 0) throw new TypeError(`Metric names break the Prometheus naming rules:\n${problems.join('\n')}`);
}
