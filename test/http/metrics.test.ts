import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { PASSWORD, buildTestApp, signUp, type TestApp } from '../helpers/app.js';

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
});
