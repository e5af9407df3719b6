import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, buildTestApp, signUp, type TestApp, type TestUser } from '../helpers/app.js';

interface EventView {
  id: string;
  type: string;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

describe('audit log (LOG-01)', () => {
  let t: TestApp;
  let admin: TestUser;
  const secrets: string[] = [PASSWORD];

  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
    secrets.push(admin.accessToken, admin.refreshToken);
  });
  afterAll(() => t.close());

  const audit = async (query = '') => {
    const res = await t.app.inject({ method: 'GET', url: `/admin/audit${query}`, headers: admin.auth });
    expect(res.statusCode).toBe(200);
    return res.json() as { items: EventView[]; next_cursor: string | null };
  };
  const eventsFor = async (userId: string) => (await audit(`?user=${userId}&limit=100`)).items;

  it('records logins, failures and their context, never the password', async () => {
    const user = await signUp(t);
    await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'user-agent': 'curl/8', 'x-request-id': 'req-42' },
      payload: { login: user.username, password: 'wrong password here' },
    });
    const events = await eventsFor(user.id);
    const failed = events.find((e) => e.type === 'login.failed')!;
    expect(failed).toMatchObject({ subject_id: user.id, user_agent: 'curl/8', request_id: 'req-42', details: { reason: 'password' } });
    expect(failed.ip).toBe('127.0.0.1');
    expect(events.filter((e) => e.type === 'login.succeeded')).toHaveLength(1);
    expect(events.some((e) => e.type === 'user.created')).toBe(true);
  });

  it('records a failed login for an unknown user without keeping what was typed', async () => {
    await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: 'nobody-by-this-name', password: 'some password typed' } });
    const failed = (await audit('?type=login.failed&limit=5')).items[0]!;
    expect(failed).toMatchObject({ subject_id: null, details: { reason: 'unknown_user' } });
    expect(JSON.stringify(failed)).not.toContain('nobody-by-this-name');
  });

  it('records refresh reuse, logout, password change, role change, disabling and deletion', async () => {
    const user = await signUp(t);
    const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });
    const next = (await refresh(user.refreshToken)).json();
    await refresh(user.refreshToken); // a retry inside the grace window
    t.clock.advance(60_000);
    await refresh(user.refreshToken); // reuse after the grace window

    const again = (await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } })).json();
    const auth = { authorization: `Bearer ${again.access_token}` };
    await t.app.inject({ method: 'POST', url: '/auth/password', headers: auth, payload: { current_password: PASSWORD, new_password: 'an entirely new passphrase' } });
    await t.app.inject({ method: 'POST', url: '/auth/logout', headers: auth, payload: { scope: 'global' } });
    await t.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.auth, payload: { role: 'admin' } });
    await t.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.auth, payload: { disabled: true } });
    await t.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth });

    const events = await eventsFor(user.id);
    const types = events.map((e) => e.type);
    for (const type of ['refresh.retried', 'refresh.reused', 'password.changed', 'logout', 'user.role_changed', 'user.disabled', 'user.deleted']) expect(types).toContain(type);
    expect(events.find((e) => e.type === 'user.role_changed')).toMatchObject({ actor_id: admin.id, details: { from: 'user', to: 'admin' } });
    expect(events.find((e) => e.type === 'logout')?.details).toMatchObject({ scope: 'global' });
    const all = JSON.stringify(events);
    for (const secret of [...secrets, 'an entirely new passphrase', user.refreshToken, next.refresh_token, again.access_token]) expect(all).not.toContain(secret);
    expect(all).not.toContain('$argon2');
  });

  it('records key rotation', async () => {
    const key = await t.services.keys.rotate({ userAgent: 'gatehouse-cli' });
    const [event] = (await audit('?type=key.rotated')).items;
    expect(event).toMatchObject({ type: 'key.rotated', user_agent: 'gatehouse-cli', details: { kid: key.kid, alg: 'EdDSA' } });
  });

  it('pages newest first with a cursor and filters by type', async () => {
    const first = await audit('?limit=3');
    expect(first.items).toHaveLength(3);
    expect(first.next_cursor).not.toBeNull();
    const second = await audit(`?limit=3&cursor=${first.next_cursor}`);
    const ids = [...first.items, ...second.items].map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(new Set(ids).size).toBe(6);
    const logins = await audit('?type=login.succeeded&limit=100');
    expect(logins.items.every((e) => e.type === 'login.succeeded')).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/admin/audit?type=made.up', headers: admin.auth })).statusCode).toBe(400);
  });

  it('AC-03: is for admins only', async () => {
    const user = await signUp(t);
    expect((await t.app.inject({ method: 'GET', url: '/admin/audit', headers: user.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/admin/audit' })).statusCode).toBe(401);
  });
});
