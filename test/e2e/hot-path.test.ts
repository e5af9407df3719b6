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
 * Every authenticated route answers from memory when it can (a token verified before, a session
 * checked within SESSION_CACHE_TTL): the answer must be the one the slow way gives, and memory must
 * never grant what storage would refuse. Over a real port, with the CLI as the other process.
 */
describe('the cached authentication path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-hot-'));
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
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: username, password: 'hot path passphrase' }) });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  beforeAll(async () => {
    server = await startServerProcess(env);
    for (const username of ['hotty', 'slowy']) {
      await fetch(`${server.url}/auth/register`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username, email: `${username}@example.com`, password: 'hot path passphrase' }),
      });
    }
    token = await login('hotty');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a cached request exactly as the first, with the security headers and the request id', async () => {
    const me = `${server.url}/auth/me`;
    const first = await get(me, [['Authorization', `Bearer ${token}`]]); // verifies the token, reads the session
    const cached = await get(me, [['Authorization', `Bearer ${token}`]]); // both from memory
    expect(first.status).toBe(200);
    expect(stable(cached)).toEqual(stable(first));
    expect(cached.headers).toContainEqual(['x-content-type-options', 'nosniff']);
    expect(cached.headers).toContainEqual(['cache-control', 'no-store']);
    expect(cached.headers.find(([n]) => n === 'x-request-id')).toBeDefined();
    const echoed = await get(me, [
      ['Authorization', `Bearer ${token}`],
      ['X-Request-Id', 'trace-123'],
    ]);
    expect(echoed.headers).toContainEqual(['x-request-id', 'trace-123']);
  });

  it('AC-01: judges the credential of a cached token afresh: two credentials, x-access-token, a query string', async () => {
    const me = `${server.url}/auth/me`;
    expect(
      (
        await get(me, [
          ['Authorization', `Bearer ${token}`],
          ['Authorization', `Bearer ${token}`],
        ])
      ).status,
    ).toBe(400);
    expect(
      (
        await get(me, [
          ['Authorization', `Bearer ${token}`],
          ['x-access-token', token],
        ])
      ).status,
    ).toBe(400);
    expect((await get(`${me}?x=1`, [['Authorization', `Bearer ${token}`]])).status).toBe(200);
    expect((await get(me, [['Authorization', `Basic ${token}`]])).status).toBe(401);
  });

  it('CLM-07/CLM-05: honours a role change and a disabled account made elsewhere within the cache TTL', async () => {
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'slowy', password: 'hot path passphrase' }) });
    let { access_token: access, refresh_token: refresh } = (await res.json()) as { access_token: string; refresh_token: string };
    // Tokens live 2 s here (for the expiry test), so the same session's token is renewed before each check.
    const renew = async () => {
      const next = (await (await fetch(`${server.url}/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refresh_token: refresh }) })).json()) as {
        access_token: string;
        refresh_token: string;
      };
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

  it('CLM-01: refuses an expired token, although it was served from memory before', async () => {
    const fresh = await login('hotty');
    const me = () => get(`${server.url}/auth/me`, [['Authorization', `Bearer ${fresh}`]]);
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200);
    expect(await within(4000, async () => (await me()).status === 401)).toBeGreaterThanOrEqual(0);
    const expired = await me();
    expect(JSON.parse(expired.body).code).toBe('ERR_AUTH_TOKEN_EXPIRED');
  });

  it('SES-03: honours a logout at once', async () => {
    const fresh = await login('hotty');
    const me = () => get(`${server.url}/auth/me`, [['Authorization', `Bearer ${fresh}`]]);
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200);
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${fresh}` } });
    expect((await me()).status).toBe(401);
  });
});
