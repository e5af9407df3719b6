import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, within, type ServerProcess } from '../helpers/server.js';

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** A GET that can repeat a header (an array value is sent as several lines). */
function get(url: string, headers: [string, string][]): Promise<Answer> {
  const grouped: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const had = grouped[name];
    grouped[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: grouped }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const stable = (a: Answer) => ({ status: a.status, body: a.body, headers: a.headers.filter(([n]) => !/^(date|x-request-id|keep-alive|connection)$/i.test(n)) });

/**
 * The in-memory hot path for GET /auth/me must give exactly the full route's answers: the same
 * bytes when it serves, and never a 200 the full route would refuse.
 */
describe('GET /auth/me fast path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fast-'));
  // An admin besides the one the test promotes, so that one can be demoted again.
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'g.db')}`,
    RATE_LIMIT: 'off',
    ACCESS_TOKEN_TTL: '2s',
    JWT_CLOCK_LEEWAY: '1ms',
    BOOTSTRAP_ADMIN_USERNAME: 'root',
    BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: 'root pass phrase here',
  };
  let server: ServerProcess;
  const json = { 'content-type': 'application/json' };
  let token = '';

  const login = async (username: string) => {
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: username, password: 'fast path passphrase' }) });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  beforeAll(async () => {
    server = await startServerProcess(env);
    for (const username of ['fasty', 'slowy']) {
      await fetch(`${server.url}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ username, email: `${username}@example.com`, password: 'fast path passphrase' }) });
    }
    token = await login('fasty');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers byte for byte as the full route does, and says so in the log', async () => {
    const me = `${server.url}/auth/me`;
    const full = await get(me, [['Authorization', `Bearer ${token}`]]); // first sight: the full route
    const fast = await get(me, [['Authorization', `Bearer ${token}`]]);
    expect(full.status).toBe(200);
    expect(stable(fast)).toEqual(stable(full));
    expect(fast.headers.find(([n]) => n === 'x-request-id')).toBeDefined();
    const echoed = await get(me, [['Authorization', `Bearer ${token}`], ['X-Request-Id', 'trace-123']]);
    expect(echoed.headers).toContainEqual(['x-request-id', 'trace-123']);
    expect(await within(2000, async () => server.logs.join('').includes('"fastPath":true'))).toBeGreaterThanOrEqual(0);
  });

  it('leaves unusual requests to the full route: two credentials, x-access-token, a query string', async () => {
    const me = `${server.url}/auth/me`;
    expect((await get(me, [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]])).status).toBe(400);
    expect((await get(me, [['Authorization', `Bearer ${token}`], ['x-access-token', token]])).status).toBe(400);
    expect((await get(`${me}?x=1`, [['Authorization', `Bearer ${token}`]])).status).toBe(200);
    expect((await get(me, [['Authorization', `Basic ${token}`]])).status).toBe(401);
  });

  it('CLM-07/CLM-05: honours a role change and a disabled account made elsewhere within the cache TTL', async () => {
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'slowy', password: 'fast path passphrase' }) });
    let { access_token: access, refresh_token: refresh } = (await res.json()) as { access_token: string; refresh_token: string };
    // Tokens live 2 s here (for the expiry test), so the same session's token is renewed before each check.
    const renew = async () => {
      const next = (await (await fetch(`${server.url}/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refresh_token: refresh }) })).json()) as { access_token: string; refresh_token: string };
      ({ access_token: access, refresh_token: refresh } = next);
    };
    const me = () => get(`${server.url}/auth/me`, [['Authorization', `Bearer ${access}`]]);
    expect(JSON.parse((await me()).body).role).toBe('user');
    // Changes by another process (the CLI) show within SESSION_CACHE_TTL (1 s).
    expect(runCli(['users', 'set-role', 'slowy', 'admin'], env).status).toBe(0);
    await renew();
    expect(await within(1500, async () => JSON.parse((await me()).body).role === 'admin')).toBeGreaterThanOrEqual(0);
    expect(runCli(['users', 'set-role', 'slowy', 'user'], env).status).toBe(0);
    await renew();
    expect(await within(1500, async () => JSON.parse((await me()).body).role === 'user')).toBeGreaterThanOrEqual(0);
    expect(runCli(['users', 'disable', 'slowy'], env).status).toBe(0);
    expect(await within(1500, async () => (await me()).status === 401)).toBeGreaterThanOrEqual(0);
  });

  it('refuses an expired token, although it was served from memory before', async () => {
    const fresh = await login('fasty');
    const me = () => get(`${server.url}/auth/me`, [['Authorization', `Bearer ${fresh}`]]);
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200);
    expect(await within(4000, async () => (await me()).status === 401)).toBeGreaterThanOrEqual(0);
    const expired = await me();
    expect(JSON.parse(expired.body).code).toBe('ERR_AUTH_TOKEN_EXPIRED');
  });

  it('honours a logout at once', async () => {
    const fresh = await login('fasty');
    const me = () => get(`${server.url}/auth/me`, [['Authorization', `Bearer ${fresh}`]]);
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200);
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${fresh}` } });
    expect((await me()).status).toBe(401);
  });
});
