import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expositionProblems, promtool } from '../helpers/prometheus.js';
import { freePort, startServerProcess, within, type ServerProcess } from '../helpers/server.js';

/** A request on a fresh connection, so the cluster spreads requests over its workers. */
function get(url: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers, method: body === undefined ? 'GET' : 'POST' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('WORKERS=2: one machine, two processes, one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
  // Cached sessions would be trusted for a minute: a revocation seen sooner came over the IPC relay.
  const env = { WORKERS: '2', DATABASE_URL: `sqlite:${join(dir, 'g.db')}`, SESSION_CACHE_TTL: '60s', RATE_LIMIT: 'on' };
  let server: ServerProcess;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    // One fixed port for the whole cluster, as in production (PORT=0 is refused with WORKERS>1).
    server = await startServerProcess({ ...env, PORT: String(await freePort()) });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from both workers and honours a logout on every worker within one second', async () => {
    await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'clu', email: 'clu@example.com', password: 'cluster pass phrase' }),
    });
    const { access_token } = (await (
      await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'clu', password: 'cluster pass phrase' }) })
    ).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${access_token}` };
    // Warm both workers' caches.
    for (let i = 0; i < 10; i++) expect((await get(`${server.url}/auth/me`, auth)).status).toBe(200);
    const metrics = (await get(`${server.url}/metrics`)).body;
    // Summed over the cluster: both workers answered /auth/me.
    expect(metrics).toMatch(/gatehouse_http_requests_total\{method="GET",route="\/auth\/me",status="200"\} 10/);
    expect(metrics.match(/^process_cpu_user_seconds_total/gm)?.length).toBeGreaterThanOrEqual(1);
    // The aggregated exposition keeps the naming rules of each worker's (promtool where installed).
    expect(expositionProblems(metrics).problems).toEqual([]);
    expect(promtool(metrics) ?? { status: 0, output: '' }).toEqual({ status: 0, output: '' });

    const logout = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: auth });
    expect(logout.status).toBe(204);
    const took = await within(1000, async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(`${server.url}/auth/me`, auth)));
      return answers.every((a) => a.status === 401);
    });
    expect(took).toBeGreaterThanOrEqual(0);
  });

  it('ENUM-04: without Redis the workers count one login budget, kept by the primary', async () => {
    // The budget is 20 logins a minute per client; the test above spent one.
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const attempt = await get(`${server.url}/auth/login`, { 'content-type': 'application/json' }, JSON.stringify({ login: `nobody-${i}`, password: 'not a password here' }));
      statuses.push(attempt.status);
    }
    expect(statuses.slice(0, 19).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(19)).toEqual([429, 429, 429]);
  });

  it('replaces a worker that dies', async () => {
    const pids = () => server.logs.join('').match(/"pid":(\d+)/g) ?? [];
    const before = new Set(pids());
    const workerPid = [...before].map((p) => Number(p.slice(6))).find((pid) => pid !== server.child.pid);
    expect(workerPid).toBeDefined();
    process.kill(workerPid!, 'SIGKILL');
    expect(await within(10_000, async () => server.logs.join('').includes('worker died'))).toBeGreaterThanOrEqual(0);
    expect(await within(10_000, async () => (await get(`${server.url}/health`)).status === 200)).toBeGreaterThanOrEqual(0);
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await server.stop()).toBe(0);
  });
});
