import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess as startServer } from '../helpers/server.js';

describe('end to end: the README walkthrough against a real server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'nested', 'gatehouse.db')}`,
    BOOTSTRAP_ADMIN_USERNAME: 'root',
    BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap admin passphrase',
    KEY_RELOAD_INTERVAL: '1s',
  };
  let server: Awaited<ReturnType<typeof startServer>>;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    server = await startServer(env);
  });
  afterAll(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the SQLite file and its folder on first start', () => {
    expect(existsSync(join(dir, 'nested', 'gatehouse.db'))).toBe(true);
  });

  it('register → login → protected call → refresh → logout', async () => {
    const register = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'alice', email: 'alice@example.com', password: 'correct horse battery staple' }),
    });
    expect(register.status).toBe(201);

    const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'alice', password: 'correct horse battery staple' }) });
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as { access_token: string; refresh_token: string };

    const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('alice');

    const item = await fetch(`${server.url}/items`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ name: 'lamp', price: 19.99 }),
    });
    expect(item.status).toBe(201);

    const refreshed = await fetch(`${server.url}/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as { access_token: string };

    const logout = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${next.access_token}` } });
    expect(logout.status).toBe(204);
    const after = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${next.access_token}` } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('PWD-07: the bootstrap admin exists and can use admin routes', async () => {
    const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'root', password: 'bootstrap admin passphrase' }) });
    expect(login.status).toBe(200);
    const { access_token, user } = (await login.json()) as { access_token: string; user: { role: string } };
    expect(user.role).toBe('admin');
    const create = await fetch(`${server.url}/users`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${access_token}` },
      body: JSON.stringify({ username: 'carol', email: 'carol@example.com', password: 'another good passphrase', role: 'admin' }),
    });
    expect(create.status).toBe(201);
  });

  it('SES-06: logs carry request ids and never a password or token', async () => {
    const logs = server.logs.join('');
    expect(logs).toContain('"reqId"');
    expect(logs).not.toContain('correct horse battery staple');
    expect(logs).not.toContain('eyJ');
  });

  it('the CLI creates users with the password from standard input, never argv', () => {
    const created = runCli(['users', 'create', '--username', 'dave', '--email', 'dave@example.com'], env, 'dave has a passphrase\n');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/created user dave/);
    expect(runCli(['users', 'set-role', 'dave', 'admin'], env).stdout).toMatch(/dave is now admin/);
    expect(runCli(['users', 'disable', 'dave@example.com'], env).stdout).toMatch(/dave is disabled/);
    const bad = runCli(['users', 'set-role', 'dave', 'root'], env);
    expect(bad.status).toBe(2);
    const weak = runCli(['users', 'create', '--username', 'eve', '--email', 'eve@example.com'], env, 'short\n');
    expect(weak.status).toBe(1);
    expect(weak.stderr).toMatch(/password/);
    // Five CLI processes, each compiling the TypeScript sources with tsx: seconds each on a busy machine.
  }, 60_000);

  it('the CLI-disabled user cannot log in over HTTP', async () => {
    const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'dave', password: 'dave has a passphrase' }) });
    expect(login.status).toBe(401);
  });

  it('keys rotate: the running server publishes the new key without a restart; retire withdraws it', async () => {
    const jwksKids = async () => ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const before = await jwksKids();
    const rotated = runCli(['keys', 'rotate'], env);
    expect(rotated.status).toBe(0);
    const kid = /key (\S+);/.exec(rotated.stdout)![1]!;
    // The CLI works out where each key stands from its own KEY_RELOAD_INTERVAL: a long one keeps the
    // new key "next" however slowly this machine runs the test.
    const slow = { ...env, KEY_RELOAD_INTERVAL: '5m' };
    expect(runCli(['keys', 'list'], slow).stdout).toMatch(new RegExp(`${kid}\tEdDSA\tnext`));
    const deadline = Date.now() + 10_000;
    while (!(await jwksKids()).includes(kid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await jwksKids()).toEqual(expect.arrayContaining([...before, kid]));
    expect(runCli(['keys', 'retire', before[0]!], slow).status).toBe(1); // still signing
    // A kid is a base64url thumbprint: one in 64 begins with "-", and is still a kid, not an option.
    const dashed = runCli(['keys', 'retire', '-Xy_no-such-kid'], slow);
    expect([dashed.status, dashed.stderr]).toEqual([1, expect.stringMatching(/ERR_KEY_NOT_FOUND/)]);
    expect(runCli(['keys', 'retire', kid], slow).stdout).toMatch(/retired/);
    while ((await jwksKids()).includes(kid) && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 200));
    expect(await jwksKids()).not.toContain(kid);
  });

  it('migrate is idempotent', () => {
    const result = runCli(['migrate'], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/up to date/);
  });

  it('invalid configuration stops the start with every problem listed', () => {
    const result = runCli(['serve'], { PORT: 'abc', JWT_ALGORITHM: 'HS256', JWT_SECRET: 'short', ACCESS_TOKEN_TTL: 'soon', WORKERS: 'many' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).toMatch(/JWT_SECRET/);
    expect(result.stderr).toMatch(/ACCESS_TOKEN_TTL/);
    expect(result.stderr).toMatch(/WORKERS/);
  });

  it('shuts down gracefully on SIGTERM', async () => {
    expect(await server.stop()).toBe(0);
  });
});
