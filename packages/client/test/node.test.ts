import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, GatehouseError, type ClientEvents, type GatehouseClient, type TokenStorage } from '../src/index.js';
import { newAccount, recordingFetch, startGatehouse, type LiveGatehouse } from './helpers.js';

// Node, memory mode, against the real service on a real port. Expiry is reached by moving the
// client's clock (`now`), never by sleeping; the server's tokens live 3 s, and it grants no grace to
// a rotated refresh token presented again, so a race the client let through would show as reuse.
describe('@gatehouse/client in Node (memory mode) against a live Gatehouse', () => {
  let gatehouse: LiveGatehouse;
  const clients: GatehouseClient[] = [];

  beforeAll(async () => {
    gatehouse = await startGatehouse({ ACCESS_TOKEN_TTL: '3s', REFRESH_REUSE_GRACE: '1ms' });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await gatehouse?.stop();
  });

  function clientFor(options: { storage?: TokenStorage } = {}) {
    const clock = { offset: 0 };
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, mode: 'memory', fetch: recorder.fetch, now: () => Date.now() + clock.offset, ...options });
    clients.push(client);
    const seen: [keyof ClientEvents, unknown][] = [];
    for (const event of ['signed-in', 'signed-out', 'refreshed'] as const) client.on(event, (detail) => seen.push([event, detail]));
    const refreshes = () => recorder.calls.filter((c) => c.path === '/auth/refresh');
    return { client, clock, calls: recorder.calls, refreshes, seen };
  }

  it('signs in with a typed result, calls the API with the token, and reports wrong passwords by code', async () => {
    const account = await newAccount(gatehouse.url);
    const { client, seen } = clientFor();
    const wrong = await client.signIn({ login: account.username, password: 'not the password' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(GatehouseError);
    expect(wrong).toMatchObject({ code: 'ERR_AUTH_INVALID_CREDENTIALS', status: 401 });
    expect(client.user).toBeNull();

    const result = await client.signIn({ login: account.username, password: account.password });
    expect(result).toMatchObject({ status: 'signed-in', user: { username: account.username } });
    expect(client.user?.username).toBe(account.username);
    expect(seen).toEqual([['signed-in', { user: client.user, how: 'sign-in' }]]);

    const me = await client.fetch('/auth/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe(account.username);
  });

  it('signs up, and a taken username is ERR_USER_CONFLICT', async () => {
    const { client } = clientFor();
    const user = await client.signUp({ username: 'signup_once', email: 'signup_once@example.com', password: 'correct horse battery staple' });
    expect(user).toMatchObject({ username: 'signup_once' });
    expect(user).not.toHaveProperty('password');
    await expect(client.signUp({ username: 'signup_once', email: 'other@example.com', password: 'correct horse battery staple' })).rejects.toMatchObject({
      code: 'ERR_USER_CONFLICT',
      status: 409,
    });
  });

  it('SES-02: twenty concurrent fetch() calls after expiry spend exactly one refresh, all answered 200, no reuse', async () => {
    const account = await newAccount(gatehouse.url);
    const { client, clock, calls, refreshes, seen } = clientFor();
    await client.signIn({ login: account.username, password: account.password });
    const before = await gatehouse.refreshes();
    const reusedBefore = await gatehouse.audited('refresh.reused');
    const first = await client.getAccessToken();

    clock.offset = 3_000; // the token's lifetime has passed on the client's clock
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/auth/me')));

    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(refreshes()).toEqual([{ method: 'POST', path: '/auth/refresh', status: 200 }]);
    expect((await gatehouse.refreshes()) - before).toBe(1);
    expect(await client.getAccessToken()).not.toBe(first);
    // Every call went out with the new token: none was refused.
    expect(calls.filter((c) => c.path === '/auth/me' && c.status !== 200)).toEqual([]);
    expect(seen.filter(([e]) => e === 'refreshed')).toHaveLength(1);
    expect(await gatehouse.audited('refresh.reused')).toBe(reusedBefore);
    expect((await client.fetch('/auth/me')).status).toBe(200);
  });

  it('refreshes shortly before expiry, not after: a call inside the margin gets a new token before it is sent', async () => {
    const account = await newAccount(gatehouse.url);
    const { client, clock, refreshes } = clientFor();
    await client.signIn({ login: account.username, password: account.password });
    const first = await client.getAccessToken();
    clock.offset = 2_000; // 1 s left of 3: outside the margin (a fifth of the lifetime)
    expect(await client.getAccessToken()).toBe(first);
    expect(refreshes()).toHaveLength(0);
    clock.offset = 2_500; // 0.5 s left: inside it
    expect((await client.fetch('/auth/me')).status).toBe(200);
    expect(refreshes()).toHaveLength(1);
    expect(await client.getAccessToken()).not.toBe(first);
  });

  it('SES-02: the refresh token lives in the given storage, rotates there, and restores the session in a new client', async () => {
    const account = await newAccount(gatehouse.url);
    const map = new Map<string, string>();
    const storage: TokenStorage = { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
    const a = clientFor({ storage });
    await a.client.signIn({ login: account.username, password: account.password });
    const [key] = [...map.keys()];
    const issued = map.get(key!);
    expect(issued).toBeTruthy();

    // A new process with the same storage: no token in memory, so the stored refresh token is used.
    const b = clientFor({ storage });
    expect((await b.client.fetch('/auth/me')).status).toBe(200);
    expect(b.seen[0]).toMatchObject(['signed-in', { how: 'restored', user: { username: account.username } }]);
    expect(map.get(key!)).not.toBe(issued);
    // The rotated-away token is dead, and presenting it again ends the session (reuse detection).
    const replay = await fetch(`${gatehouse.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: issued }),
    });
    expect(replay.status).toBe(401);
    await expect(b.client.fetch('/auth/me')).rejects.toMatchObject({ code: 'ERR_CLIENT_SIGNED_OUT' });
  });

  it('SES-03: signOut ends the session on the server, clears the stored token, and later calls throw ERR_CLIENT_SIGNED_OUT', async () => {
    const account = await newAccount(gatehouse.url);
    const map = new Map<string, string>();
    const { client, seen } = clientFor({ storage: { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) } });
    await client.signIn({ login: account.username, password: account.password });
    const token = await client.getAccessToken();
    const stored = [...map.values()][0]!;

    await client.signOut();

    expect(map.size).toBe(0);
    expect(client.user).toBeNull();
    expect(seen.at(-1)).toEqual(['signed-out', { reason: 'sign-out' }]);
    expect((await fetch(`${gatehouse.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const refresh = await fetch(`${gatehouse.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stored }),
    });
    expect(refresh.status).toBe(401);
    await expect(client.fetch('/auth/me')).rejects.toMatchObject({ code: 'ERR_CLIENT_SIGNED_OUT' });
    expect(await client.getAccessToken()).toBeNull();
  });

  it('SES-03: a session ended elsewhere (global sign-out) is noticed on the next call: one refresh attempt, signed-out, no loop', async () => {
    const account = await newAccount(gatehouse.url);
    const other = clientFor();
    const { client, calls, refreshes, seen } = clientFor();
    await client.signIn({ login: account.username, password: account.password });
    await other.client.signIn({ login: account.username, password: account.password });
    await other.client.signOut('global');

    await expect(client.fetch('/auth/me')).rejects.toMatchObject({ code: 'ERR_CLIENT_SIGNED_OUT' });
    expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(['POST /auth/login 200', 'GET /auth/me 401', 'POST /auth/refresh 401']);
    expect(refreshes()).toHaveLength(1);
    expect(seen.at(-1)).toEqual(['signed-out', { reason: 'session-ended' }]);
    // Signed out for good: further calls do not go out at all.
    await expect(client.fetch('/auth/me')).rejects.toMatchObject({ code: 'ERR_CLIENT_SIGNED_OUT' });
    expect(calls).toHaveLength(3);
  });

  it('a sign-in made while a failing refresh is on its way is not signed out by that refresh', async () => {
    const account = await newAccount(gatehouse.url);
    const map = new Map([[`gatehouse:${gatehouse.url}:refresh_token`, 'dead.token']]);
    const storage: TokenStorage = { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
    // A slow network for refreshes only: the sign-in's answer would come back first.
    const slow: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === '/auth/refresh') await new Promise((resolve) => setTimeout(resolve, 300));
      return fetch(request);
    };
    const client = createClient({ baseUrl: gatehouse.url, mode: 'memory', storage, fetch: slow });
    clients.push(client);
    const restoring = client.getAccessToken();
    const result = await client.signIn({ login: account.username, password: account.password });
    expect(await restoring).toBeNull();
    expect(result.status).toBe('signed-in');
    expect(client.user?.username).toBe(account.username);
    expect((await client.fetch('/auth/me')).status).toBe(200);
  });

  it("signOut('others') ends the user's other sessions and keeps this one", async () => {
    const account = await newAccount(gatehouse.url);
    const here = clientFor();
    const there = clientFor();
    await here.client.signIn({ login: account.username, password: account.password });
    await there.client.signIn({ login: account.username, password: account.password });
    await here.client.signOut('others');
    expect(here.client.user).not.toBeNull();
    expect((await here.client.fetch('/auth/me')).status).toBe(200);
    await expect(there.client.fetch('/auth/me')).rejects.toMatchObject({ code: 'ERR_CLIENT_SIGNED_OUT' });
  });

  it('SES-06: client.fetch sends the token only to the origins it is told of; anything else is a TypeError before any request', async () => {
    const account = await newAccount(gatehouse.url);
    const { client, calls } = clientFor();
    await client.signIn({ login: account.username, password: account.password });
    const sent = calls.length;
    await expect(client.fetch('https://elsewhere.example/steal')).rejects.toBeInstanceOf(TypeError);
    await expect(client.fetch(new Request('http://127.0.0.1:1/x'))).rejects.toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(sent);
  });

  it('reports an unreachable service as ERR_CLIENT_NETWORK', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:1', mode: 'memory' });
    await expect(client.signIn({ login: 'x', password: 'y' })).rejects.toMatchObject({ code: 'ERR_CLIENT_NETWORK' });
  });

  it('refuses misuse with a TypeError: no mode, storage in cookie mode', () => {
    expect(() => createClient({ baseUrl: gatehouse.url } as never)).toThrow(TypeError);
    expect(() => createClient({ baseUrl: gatehouse.url, mode: 'cookie', storage: { getItem: () => null, setItem() {}, removeItem() {} } })).toThrow(TypeError);
  });
});
