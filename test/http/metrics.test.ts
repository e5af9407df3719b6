import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Peer } from '../../src/cluster/peer.js';
import { AggregatorRegistry, Registry } from 'prom-client';
import { Metrics, RequestCells, conformToNamingRules, namingProblems } from '../../src/metrics.js';
import { PASSWORD, buildTestApp, signUp, type TestApp } from '../helpers/app.js';
import { expositionProblems, promtool } from '../helpers/prometheus.js';

/** The value of one sample line, e.g. `gatehouse_logins_total{outcome="failed"}`. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

describe('/metrics (Prometheus)', () => {
  let t: TestApp;
  const token = 'scrape-secret-of-some-length';
  beforeAll(async () => {
    t = await buildTestApp({ METRICS_TOKEN: token, RATE_LIMIT: 'on' }, { metrics: new Metrics() });
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.body;
  };

  it('is protected by METRICS_TOKEN when set', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    await scrape();
  });

  it('counts requests by route template and status, with latency histograms', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth });
    await t.app.inject({ method: 'GET', url: `/users/${user.id}`, headers: user.auth });
    const text = await scrape();
    expect(sample(text, 'gatehouse_http_requests_total{method="GET",route="/auth/me",status="200"}')).toBe(3);
    expect(sample(text, 'gatehouse_http_requests_total{method="GET",route="/users/:id",status="200"}')).toBe(1);
    expect(text).toMatch(/gatehouse_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/auth\/me",status="200"\} \d+/);
  });

  it('counts login outcomes, refresh reuse, rate limiting, cache hits and event loop lag', async () => {
    const user = await signUp(t);
    const before = await scrape();
    await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: 'wrong password!' } });
    await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } });
    await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    t.clock.advance(60_000);
    await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    for (let i = 0; i < 25; i++) await t.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.200', payload: { login: 'x', password: 'y' } });
    for (let i = 0; i < 5; i++) await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth });
    const after = await scrape();
    const delta = (name: string) => sample(after, name) - (Number.isNaN(sample(before, name)) ? 0 : sample(before, name));
    // The 25 attempts on "x": 5 free failures, a 6th that starts a lock, then 19 refusals (14 by the
    // lock, 5 past the client's budget of 20).
    expect(delta('gatehouse_logins_total{outcome="failed"}')).toBe(1 + 6);
    expect(delta('gatehouse_logins_total{outcome="throttled"}')).toBe(1);
    expect(delta('gatehouse_logins_total{outcome="succeeded"}')).toBe(1);
    expect(delta('gatehouse_refresh_reuse_total')).toBe(1);
    expect(delta('gatehouse_rate_limited_total{route="/auth/login"}')).toBe(19);
    expect(sample(after, 'gatehouse_cache_lookups_total{cache="token",result="hit"}')).toBeGreaterThan(0);
    expect(sample(after, 'gatehouse_cache_lookups_total{cache="session",result="hit"}')).toBeGreaterThan(0);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('the exposition parses as the Prometheus text format and follows every naming rule promtool checks', async () => {
    await signUp(t);
    const text = await scrape();
    const { families, problems } = expositionProblems(text);
    expect(families).toBeGreaterThan(20);
    expect(problems).toEqual([]);
    // The gauges prom-client names like counters are gone; their per-type breakdowns remain.
    expect(text).not.toMatch(/^nodejs_active_(handles|requests|resources)_total/m);
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
    const check = promtool(text);
    if (check === null) {
      // The parser above is the check everywhere; promtool (Debian package prometheus) is a second one where installed.
      console.warn('promtool not installed: `promtool check metrics` skipped');
      return;
    }
    expect(check).toEqual({ status: 0, output: '' });
  });
});

describe('/metrics in a cluster worker whose primary does not answer', () => {
  it('answers 503 problem+json after the deadline rather than waiting, or a partial sum', async () => {
    const metrics = new Metrics();
    // A primary that takes the request and never answers (stuck); the deadline is shortened for the test.
    const primary = new Peer({ send: () => true, timeouts: { 'metrics.cluster': 50 } });
    metrics.aggregateWith(() => primary.request({ tag: 'metrics.cluster' }));
    const t = await buildTestApp({}, { metrics });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ status: 503, code: 'ERR_METRICS_UNAVAILABLE' });
    } finally {
      await t.close();
    }
  });
});

describe('request cells', () => {
  it('expose counts, cumulative buckets, sums, and sum across workers as prom-client would', async () => {
    const worker = () => {
      const cells = new RequestCells();
      cells.record('GET', '/auth/me', 200, 0.0004);
      cells.record('GET', '/auth/me', 200, 0.003);
      cells.record('GET', '/auth/me', 200, 7);
      cells.record('GET', '/auth/me', 401, 0.001);
      cells.record('POST', '/auth/me', 200, 0.02);
      const registry = new Registry();
      cells.register(registry);
      return registry;
    };
    const text = await worker().metrics();
    expect(sample(text, 'gatehouse_http_requests_total{method="GET",route="/auth/me",status="200"}')).toBe(3);
    expect(sample(text, 'gatehouse_http_requests_total{method="GET",route="/auth/me",status="401"}')).toBe(1);
    expect(sample(text, 'gatehouse_http_requests_total{method="POST",route="/auth/me",status="200"}')).toBe(1);
    const bucket = (le: string, status = '200') => sample(text, `gatehouse_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/auth/me",status="${status}"}`);
    expect([bucket('0.0005'), bucket('0.001'), bucket('0.0025'), bucket('0.005'), bucket('2.5'), bucket('+Inf')]).toEqual([1, 1, 1, 2, 2, 3]);
    // A duration equal to a bound falls in that bucket (le is "less than or equal").
    expect([bucket('0.0005', '401'), bucket('0.001', '401')]).toEqual([0, 1]);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_sum{method="GET",route="/auth/me",status="200"}')).toBeCloseTo(7.0034, 6);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count{method="GET",route="/auth/me",status="200"}')).toBe(3);
    expect(expositionProblems(text).problems).toEqual([]);

    // The cluster's primary sums the workers' JSON with prom-client's aggregation.
    const summed = await AggregatorRegistry.aggregate([await worker().getMetricsAsJSON(), await worker().getMetricsAsJSON()]).metrics();
    expect(sample(summed, 'gatehouse_http_requests_total{method="GET",route="/auth/me",status="200"}')).toBe(6);
    expect(sample(summed, 'gatehouse_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/auth/me",status="200"}')).toBe(4);
  });
});

describe('Prometheus naming rules', () => {
  it('refuse each kind of name promtool refuses', () => {
    expect(namingProblems('gatehouse_things_total', 'counter', 'Things')).toEqual([]);
    expect(namingProblems('gatehouse_queue_depth', 'gauge', 'Depth')).toEqual([]);
    expect(namingProblems('gatehouse_request_duration_seconds', 'histogram', 'Time')).toEqual([]);
    expect(namingProblems('nodejs_active_handles_total', 'gauge', 'Handles')).toEqual(['only counters end in "_total"']);
    expect(namingProblems('gatehouse_things', 'counter', 'Things')).toEqual(['a counter must end in "_total"']);
    expect(namingProblems('gatehouse_things_count', 'gauge', 'Things')).toEqual(['"_count", "_sum" and "_bucket" are reserved for histograms and summaries']);
    expect(namingProblems('gatehouse_things', 'gauge', ' ')).toEqual(['HELP is missing']);
    expect(namingProblems('gatehouse:things', 'gauge', 'x')).toEqual(['must be lower snake_case, without ":"']);
    expect(namingProblems('gatehouseThings', 'gauge', 'x')).toEqual(['must be lower snake_case, without ":"']);
    expect(namingProblems('gatehouse_latency_ms', 'gauge', 'x')).toEqual(['unit "ms" is abbreviated']);
    expect(namingProblems('gatehouse_latency_milliseconds', 'gauge', 'x')).toEqual(['"milliseconds" is not a base unit']);
    expect(namingProblems('gatehouse_things_gauge', 'gauge', 'x')).toEqual(['the name contains the metric type "gauge"']);
  });

  it("a registry is fixed or refused when built: prom-client's *_total gauges dropped, any other bad name a TypeError", async () => {
    const { Counter, Gauge, Registry } = await import('prom-client');
    const registry = new Registry();
    new Gauge({ name: 'x_active_handles', help: 'per type', registers: [registry] });
    new Gauge({ name: 'x_active_handles_total', help: 'sum of the above', registers: [registry] });
    conformToNamingRules(registry);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['x_active_handles']);
    new Counter({ name: 'x_requests', help: 'no suffix', registers: [registry] });
    expect(() => conformToNamingRules(registry)).toThrow(/x_requests: a counter must end in "_total"/);
  });
});
