import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJws } from '../../src/core/auth/jws.js';
import { createPrivateKey } from 'node:crypto';
import { runCli, startServerProcess, within, type ServerProcess } from '../helpers/server.js';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

/**
 * Two real instances on one Postgres schema and one Redis. Cache TTLs and the key poll are set far
 * beyond a second, so anything that arrives within one second arrived through Redis.
 */
describe.skipIf(!databaseUrl || !redisUrl)('several instances on Postgres and Redis', () => {
  const schema = `gh_multi_${randomBytes(5).toString('hex')}`;
  const env = {
    DATABASE_URL: `${databaseUrl}${databaseUrl?.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    REDIS_URL: redisUrl!,
    REDIS_PREFIX: `${schema}:`,
    SESSION_CACHE_TTL: '60s',
    KEY_RELOAD_INTERVAL: '5m',
    RATE_LIMIT: 'on',
  };
  let a: ServerProcess;
  let b: ServerProcess;
  const json = { 'content-type': 'application/json' };
  const me = (server: ServerProcess, token: string) => fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    a = await startServerProcess(env);
    b = await startServerProcess(env);
    const register = await fetch(`${a.url}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'multi', email: 'multi@example.com', password: 'a fine multi passphrase' }),
    });
    expect(register.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  const login = async (server: ServerProcess) => {
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'multi', password: 'a fine multi passphrase' }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { access_token: string; refresh_token: string; user: { id: string } };
  };

  it('a logout on B is honoured by A within one second (SES-03)', async () => {
    const tokens = await login(a);
    expect(await me(a, tokens.access_token)).toBe(200); // A now has the session cached for 60 s
    expect(await me(b, tokens.access_token)).toBe(200);
    const logout = await fetch(`${b.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(logout.status).toBe(204);
    const took = await within(1000, async () => (await me(a, tokens.access_token)) === 401);
    expect(took).toBeGreaterThanOrEqual(0);
  });

  it('OIDC-06: a token revoked on B is active:false in introspection on A within one second', async () => {
    const created = runCli(['clients', 'create', '--name', 'Gateway', '--type', 'confidential', '--first-party', '--grant', 'client_credentials'], env);
    expect(created.status, created.stderr).toBe(0);
    const basic = `Basic ${Buffer.from(`${/client_id: (\S+)/.exec(created.stdout)![1]}:${/client_secret: (\S+)/.exec(created.stdout)![1]}`).toString('base64')}`;
    const introspect = async (server: ServerProcess, token: string) => {
      const res = await fetch(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
      });
      return ((await res.json()) as { active: boolean }).active;
    };
    const tokens = await login(a);
    expect(await introspect(a, tokens.access_token)).toBe(true);
    expect(await introspect(a, tokens.refresh_token)).toBe(true);
    const revoked = await fetch(`${b.url}/oauth/revoke`, { method: 'POST', headers: json, body: JSON.stringify({ token: tokens.refresh_token }) });
    expect(revoked.status).toBe(200);
    expect(await within(1000, async () => !(await introspect(a, tokens.access_token)) && !(await introspect(a, tokens.refresh_token)))).toBeGreaterThanOrEqual(0);
  });

  it('disabling a user through the CLI is honoured by both instances within one second (CLM-05)', async () => {
    const tokens = await login(a);
    expect(await me(a, tokens.access_token)).toBe(200);
    expect(await me(b, tokens.access_token)).toBe(200);
    expect(runCli(['users', 'disable', 'multi'], env).status).toBe(0);
    expect(await within(1000, async () => (await me(a, tokens.access_token)) === 401 && (await me(b, tokens.access_token)) === 401)).toBeGreaterThanOrEqual(0);
    expect(runCli(['users', 'enable', 'multi'], env).status).toBe(0);
  });

  it('AC-02: an item changed or deleted on B, and a user renamed on B, are seen by A within one second', async () => {
    const tokens = await login(a);
    const auth = { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' };
    const name = `multi-${randomBytes(3).toString('hex')}`;
    expect((await fetch(`${b.url}/items`, { method: 'POST', headers: auth, body: JSON.stringify({ name, price: 1 }) })).status).toBe(201);
    const price = async (server: ServerProcess) => {
      const res = await fetch(`${server.url}/items/${name}`, { headers: auth });
      return res.status === 200 ? ((await res.json()) as { price: number }).price : res.status;
    };
    expect(await price(a)).toBe(1); // A now has the item cached for 60 s
    expect((await fetch(`${b.url}/items/${name}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ price: 2 }) })).status).toBe(200);
    expect(await within(1000, async () => (await price(a)) === 2)).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${b.url}/items/${name}`, { method: 'DELETE', headers: { authorization: auth.authorization } })).status).toBe(204);
    expect(await within(1000, async () => (await price(a)) === 404)).toBeGreaterThanOrEqual(0);

    const shown = async (server: ServerProcess) => ((await (await fetch(`${server.url}/users/${tokens.user.id}`, { headers: auth })).json()) as { name: string | null }).name;
    const before = await shown(a);
    const renamed = `Renamed ${randomBytes(3).toString('hex')}`;
    expect((await fetch(`${b.url}/auth/me`, { method: 'PATCH', headers: auth, body: JSON.stringify({ name: renamed }) })).status).toBe(200);
    expect(before).not.toBe(renamed);
    expect(await within(1000, async () => (await shown(a)) === renamed)).toBeGreaterThanOrEqual(0);
  });

  it('a key rotated from the CLI is published and verified by B within one second; retiring withdraws it', async () => {
    const kids = async (server: ServerProcess) => ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const rotated = runCli(['keys', 'rotate'], env);
    expect(rotated.status, rotated.stderr).toBe(0);
    const kid = /key (\S+);/.exec(rotated.stdout)![1]!;
    expect(await within(1000, async () => (await kids(b)).includes(kid) && (await kids(a)).includes(kid))).toBeGreaterThanOrEqual(0);

    // A token signed with the new key (read from the shared database, as an instance would once the
    // key starts signing) verifies on B, for a real session.
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    const { rows } = await db.query<{ private_key_pem: string }>('SELECT private_key_pem FROM signing_keys WHERE kid = $1', [kid]);
    await db.end();
    const session = await login(a);
    const claims = JSON.parse(Buffer.from(session.access_token.split('.')[1]!, 'base64url').toString());
    const forgedByNewKey = await signJws({ kid, alg: 'EdDSA', key: createPrivateKey(rows[0]!.private_key_pem) }, { typ: 'at+jwt' }, { ...claims, jti: 'new-key' });
    expect(await me(b, forgedByNewKey)).toBe(200);

    const retired = runCli(['keys', 'retire', kid], env);
    expect(retired.status, retired.stderr).toBe(0);
    expect(await within(1000, async () => !(await kids(b)).includes(kid))).toBeGreaterThanOrEqual(0);
    expect(await me(b, forgedByNewKey)).toBe(401);
  });

  // Last: it spends this client's login budget for the minute.
  it('the per-client login budget is counted once across instances (ENUM-04)', async () => {
    const attempt = (server: ServerProcess) =>
      fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ grant_type: 'password', username: `nobody-${randomBytes(3).toString('hex')}`, password: 'x' }),
      });
    // Earlier tests spent some of this minute's budget of 20; spend the rest alternately on A and B.
    let statuses: number[] = [];
    for (let i = 0; i < 24; i++) statuses.push((await attempt(i % 2 === 0 ? a : b)).status);
    const firstLimited = statuses.indexOf(429);
    expect(firstLimited).toBeGreaterThan(0);
    expect(firstLimited).toBeLessThanOrEqual(20);
    statuses = statuses.slice(firstLimited);
    // Once spent, both instances refuse: neither kept a budget of its own.
    expect(statuses.every((s) => s === 429)).toBe(true);
    expect((await attempt(a)).status).toBe(429);
    expect((await attempt(b)).status).toBe(429);
  });
});
