import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

/** What the admin console (/ui/admin) needs beyond the original API: session revocation and time filters. */
describe('admin console API', () => {
  let t: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  const audit = async (query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/admin/audit${query}`, headers: admin.auth });
    return res;
  };

  it('AC-02: DELETE /users/:id/sessions ends every session of the user, their tokens stop working, and is audited', async () => {
    const user = await signUp(t);
    const second = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: 'correct horse battery staple' } });
    expect(second.statusCode).toBe(200);

    const res = await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/sessions`, headers: admin.auth });
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(401);
    const refresh = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: (second.json() as { refresh_token: string }).refresh_token } });
    expect(refresh.statusCode).toBe(401);
    // The admin's own session is untouched.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: admin.auth })).statusCode).toBe(200);

    const events = (await audit(`?user=${user.id}&type=session.revoked`)).json() as { items: { actor_id: string; subject_id: string; details: Record<string, unknown> }[] };
    expect(events.items[0]).toMatchObject({ actor_id: admin.id, subject_id: user.id, details: { sessions: 2 } });
  });

  it("AC-02: only an admin may end another user's sessions; an unknown user is 404; nothing changes on refusal", async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    const refused = await t.app.inject({ method: 'DELETE', url: `/users/${other.id}/sessions`, headers: user.auth });
    expect(refused.statusCode).toBe(403);
    expect(problemOf(refused).code).toBe('ERR_FORBIDDEN');
    // Not even one's own through this route: /auth/logout scope=global is the user's way.
    expect((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/sessions`, headers: user.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: other.auth })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(200);

    const missing = await t.app.inject({ method: 'DELETE', url: '/users/0190a4c2-0000-7000-8000-000000000000/sessions', headers: admin.auth });
    expect(missing.statusCode).toBe(404);
    expect(problemOf(missing).code).toBe('ERR_USER_NOT_FOUND');
    expect((await t.app.inject({ method: 'DELETE', url: '/users/not%20an%20id/sessions', headers: admin.auth })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/sessions` })).statusCode).toBe(401);
  });

  it('LOG-01: /admin/audit filters by time: since is inclusive, until exclusive, with user and type, across pages', async () => {
    const user = await signUp(t);
    const start = t.clock.now() + 3_600_000;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.set(start + i * 60_000);
      times.push(t.clock.now());
      await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: `wrong password ${i}` } });
    }
    // An admin signed in now: the first one's token expired while the clock moved.
    admin = await signUp(t, { admin: true });
    const iso = (ms: number) => new Date(ms).toISOString();
    const failed = async (query: string) => {
      const res = await audit(`?user=${user.id}&type=login.failed${query}`);
      expect(res.statusCode).toBe(200);
      return res.json() as { items: { at: string }[]; next_cursor: string | null };
    };
    expect((await failed('')).items).toHaveLength(5);
    const middle = await failed(`&since=${iso(times[1]!)}&until=${iso(times[4]!)}`);
    expect(middle.items.map((e) => e.at)).toEqual([times[3]!, times[2]!, times[1]!].map(iso));
    // The range holds on the next page too.
    const first = await failed(`&since=${iso(times[1]!)}&until=${iso(times[4]!)}&limit=2`);
    expect(first.items.map((e) => e.at)).toEqual([times[3]!, times[2]!].map(iso));
    const next = await failed(`&since=${iso(times[1]!)}&until=${iso(times[4]!)}&limit=2&cursor=${first.next_cursor}`);
    expect(next.items.map((e) => e.at)).toEqual([iso(times[1]!)]);
    expect(next.next_cursor).toBeNull();
    // Offsets are instants like any other.
    const offset = new Date(times[4]!).toISOString().replace('Z', '+00:00');
    expect((await failed(`&since=${encodeURIComponent(offset)}`)).items.map((e) => e.at)).toEqual([iso(times[4]!)]);
    expect((await failed(`&until=${iso(times[0]!)}`)).items).toEqual([]);
  });

  it('IN-01: a malformed since or until is a 400 naming the parameter', async () => {
    for (const [name, value] of [
      ['since', 'yesterday'],
      ['until', '2026-13-45T99:00:00Z'],
      ['since', '2026-11-29'],
      ['until', '-1'],
    ]) {
      const res = await audit(`?${name}=${encodeURIComponent(value!)}`);
      expect(res.statusCode, `${name}=${value}`).toBe(400);
      expect(problemOf(res).errors?.[0]?.field).toBe(name);
    }
  });
});
