import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { migrate, openDriver } from '../../src/storage/open.js';
import { createSqlStorage } from '../../src/storage/sql/stores.js';
import type { SqlDriver } from '../../src/storage/sql/driver.js';

interface Tokens {
  access_token: string;
  refresh_token: string;
}

describe('sessions and the token lifecycle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });
  const me = (accessToken: string) => t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } });
  const login = async (user: TestUser): Promise<Tokens> => {
    const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  it('SES-01: each login issues a new session and fresh tokens', async () => {
    const user = await signUp(t);
    const second = await login(user);
    expect(second.refresh_token).not.toBe(user.refreshToken);
    const sessions = (await t.app.inject({ method: 'GET', url: '/auth/sessions', headers: user.auth })).json().items;
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
  });

  it('token responses are not cacheable', async () => {
    const user = await signUp(t);
    const res = await refresh(user.refreshToken);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('SES-05: refresh tokens are opaque id.secret with ≥128-bit parts, and only a hash is stored', async () => {
    const user = await signUp(t);
    const [id, secret] = user.refreshToken.split('.');
    expect(Buffer.from(id!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(secret!, 'base64url').length).toBeGreaterThanOrEqual(16);
    const record = (await t.storage.sessions.findByRefreshToken(id!))?.token;
    expect(record?.secretHash).toBeDefined();
    expect(record?.secretHash).not.toContain(secret);
  });

  it('SES-02: refresh rotates; the parent inside the grace window gets the same successor', async () => {
    const user = await signUp(t);
    const first = await refresh(user.refreshToken);
    expect(first.statusCode).toBe(200);
    const next: Tokens = first.json();
    expect(next.refresh_token).not.toBe(user.refreshToken);
    t.clock.advance(5_000);
    const retry = await refresh(user.refreshToken);
    expect(retry.statusCode).toBe(200);
    expect(retry.json().refresh_token).toBe(next.refresh_token);
    // The chain goes on from the successor.
    expect((await refresh(next.refresh_token)).statusCode).toBe(200);
  });

  it('SES-02: replaying a rotated token after the grace window revokes the whole session', async () => {
    const user = await signUp(t);
    const next: Tokens = (await refresh(user.refreshToken)).json();
    t.clock.advance(11_000);
    const replay = await refresh(user.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(problemOf(replay).code).toBe('ERR_AUTH_INVALID_REFRESH_TOKEN');
    // The legitimate holder's successor and every access token of the session are dead too.
    expect((await refresh(next.refresh_token)).statusCode).toBe(401);
    expect((await me(next.access_token)).statusCode).toBe(401);
    expect((await me(user.accessToken)).statusCode).toBe(401);
  });

  it('SES-02: a grandparent replayed even inside the window revokes the session', async () => {
    const user = await signUp(t);
    const child: Tokens = (await refresh(user.refreshToken)).json();
    const grandchild: Tokens = (await refresh(child.refresh_token)).json();
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
    expect((await refresh(grandchild.refresh_token)).statusCode).toBe(401);
  });

  it('SES-02: concurrent refreshes with one token never yield two live chains', async () => {
    const user = await signUp(t);
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(user.refreshToken)));
    const ok = results.filter((r) => r.statusCode === 200).map((r) => r.json().refresh_token as string);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok).size).toBe(1);
    for (const r of results.filter((r) => r.statusCode !== 200)) expect(r.statusCode).toBe(401);
    expect((await refresh(ok[0]!)).statusCode).toBe(200);
  });

  it('refuses garbage, unknown and tampered refresh tokens without revoking anything', async () => {
    const user = await signUp(t);
    const [id, secret] = user.refreshToken.split('.') as [string, string];
    for (const token of ['nope', `${id}.${'A'.repeat(43)}`, `${'B'.repeat(22)}.${secret}`, user.accessToken]) {
      const res = await refresh(token);
      expect(res.statusCode).toBe(401);
    }
    expect((await refresh(user.refreshToken)).statusCode).toBe(200);
  });

  it('SES-05: a session ends at its absolute expiry, however often it was refreshed', async () => {
    const user = await signUp(t);
    let token = user.refreshToken;
    // REFRESH_TOKEN_TTL is 30 days: three refreshes 9 days apart succeed, the session still ends on day 30.
    for (let i = 0; i < 3; i++) {
      t.clock.advance(9 * 86_400_000);
      const res = await refresh(token);
      expect(res.statusCode).toBe(200);
      token = res.json().refresh_token;
      expect(res.json().refresh_expires_in).toBe((30 - 9 * (i + 1)) * 86_400);
    }
    t.clock.advance(3 * 86_400_000);
    expect((await refresh(token)).statusCode).toBe(401);
  });

  describe('logout (SES-03)', () => {
    async function threeSessions() {
      const user = await signUp(t);
      const b = await login(user);
      const c = await login(user);
      return { a: { access_token: user.accessToken, refresh_token: user.refreshToken }, b, c };
    }

    it('local ends only the current session, access and refresh alike', async () => {
      const { a, b, c } = await threeSessions();
      expect((await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${a.access_token}` }, payload: { scope: 'local' } })).statusCode).toBe(
        204,
      );
      expect((await me(a.access_token)).statusCode).toBe(401);
      expect((await refresh(a.refresh_token)).statusCode).toBe(401);
      expect((await me(b.access_token)).statusCode).toBe(200);
      expect((await me(c.access_token)).statusCode).toBe(200);
    });

    it('others ends every session but the current one', async () => {
      const { a, b, c } = await threeSessions();
      await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${a.access_token}` }, payload: { scope: 'others' } });
      expect((await me(a.access_token)).statusCode).toBe(200);
      expect((await me(b.access_token)).statusCode).toBe(401);
      expect((await refresh(c.refresh_token)).statusCode).toBe(401);
    });

    it('global ends all of them', async () => {
      const { a, b, c } = await threeSessions();
      await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${b.access_token}` }, payload: { scope: 'global' } });
      for (const s of [a, b, c]) expect((await me(s.access_token)).statusCode).toBe(401);
    });

    it('refuses an unknown scope', async () => {
      const { a } = await threeSessions();
      const res = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${a.access_token}` }, payload: { scope: 'everything' } });
      expect(res.statusCode).toBe(400);
      expect((await me(a.access_token)).statusCode).toBe(200);
    });
  });

  describe('password change', () => {
    it('PWD-04/SES-04: needs the current password and ends every other session', async () => {
      const user = await signUp(t);
      const other = await login(user);
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/password',
        headers: user.auth,
        payload: { current_password: 'not it at all', new_password: 'a brand new passphrase' },
      });
      expect(wrong.statusCode).toBe(400);
      expect((await me(other.access_token)).statusCode).toBe(200);

      const ok = await t.app.inject({ method: 'POST', url: '/auth/password', headers: user.auth, payload: { current_password: PASSWORD, new_password: 'a brand new passphrase' } });
      expect(ok.statusCode).toBe(204);
      expect((await me(user.accessToken)).statusCode).toBe(200);
      expect((await me(other.access_token)).statusCode).toBe(401);
      expect((await refresh(other.refresh_token)).statusCode).toBe(401);
      const oldLogin = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } });
      expect(oldLogin.statusCode).toBe(401);
      const newLogin = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: 'a brand new passphrase' } });
      expect(newLogin.statusCode).toBe(200);
    });
  });

  describe('session list', () => {
    it("lists only the caller's live sessions and deletes only their own", async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const second = await login(alice);
      const list = (await t.app.inject({ method: 'GET', url: '/auth/sessions', headers: alice.auth })).json().items as {
        id: string;
        current: boolean;
        user_agent: string | null;
        ip: string | null;
      }[];
      expect(list).toHaveLength(2);
      const other = list.find((s) => !s.current)!;
      const bobsSession = (await t.app.inject({ method: 'GET', url: '/auth/sessions', headers: bob.auth })).json().items[0].id as string;
      expect((await t.app.inject({ method: 'DELETE', url: `/auth/sessions/${bobsSession}`, headers: alice.auth })).statusCode).toBe(404);
      expect((await me(bob.accessToken)).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'DELETE', url: `/auth/sessions/${other.id}`, headers: alice.auth })).statusCode).toBe(204);
      expect((await me(second.access_token)).statusCode).toBe(401);
      expect((await me(alice.accessToken)).statusCode).toBe(200);
    });
  });

  describe('POST /oauth/token (RFC 6749)', () => {
    it('password grant, form-encoded', async () => {
      const user = await signUp(t);
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'password', username: user.username, password: PASSWORD }).toString(),
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    });

    it('refresh_token grant rotates like /auth/refresh', async () => {
      const user = await signUp(t);
      const res = await t.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: user.refreshToken } });
      expect(res.statusCode).toBe(200);
      expect(res.json().refresh_token).not.toBe(user.refreshToken);
    });

    it('errors follow §5.2', async () => {
      const user = await signUp(t);
      const cases: [Record<string, string>, string][] = [
        [{ grant_type: 'password', username: user.username, password: 'wrong password!' }, 'invalid_grant'],
        [{ grant_type: 'refresh_token', refresh_token: 'bogus' }, 'invalid_grant'],
        [{ grant_type: 'implicit' }, 'unsupported_grant_type'],
        // The built-in public client may not use client_credentials (a confidential client's grant).
        [{ grant_type: 'client_credentials' }, 'unauthorized_client'],
        [{ grant_type: 'password', username: user.username }, 'invalid_request'],
        // Extra parameters are ignored now (RFC 6749 §3.2; see oauth.test.ts); a repeated one is refused.
        [{ grant_type: 'password', username: user.username, password: [PASSWORD, PASSWORD] } as unknown as Record<string, string>, 'invalid_request'],
      ];
      for (const [payload, error] of cases) {
        const res = await t.app.inject({ method: 'POST', url: '/oauth/token', payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error).toBe(error);
        expect(res.headers['cache-control']).toBe('no-store');
      }
      const bad = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('invalid_request');
    });
  });
});

describe('SES-02/SES-05: a session keeps one refresh chain, rotated in place', () => {
  let t: TestApp;
  let db: SqlDriver;
  beforeAll(async () => {
    db = openDriver('sqlite::memory:');
    await migrate(db);
    t = await buildTestApp({}, { storage: createSqlStorage(db) });
  });
  afterAll(() => t.close());

  const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });
  const chain = async (first: string, length: number): Promise<string[]> => {
    const tokens = [first];
    for (let i = 0; i < length; i++) {
      const res = await refresh(tokens.at(-1)!);
      expect(res.statusCode).toBe(200);
      tokens.push(res.json().refresh_token);
    }
    return tokens;
  };
  const rows = async (sessionId: string) => (await db.all<{ id: string }>('SELECT id FROM refresh_tokens WHERE session_id = ?', [sessionId])).length;
  const sessionOf = async (token: string) => (await t.storage.sessions.findByRefreshToken(token.split('.')[0]!))!.session;

  it('a refresh adds no row: after 10 rotations the session still has one token row, and only hashes are stored', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 10);
    const session = await sessionOf(user.refreshToken);
    expect(await rows(session.id)).toBe(1);
    const last = tokens.at(-1)!;
    // The current token's id and the hash of its secret are the session's; the secret is nowhere.
    expect(last.startsWith(`${session.refreshId}.`)).toBe(true);
    const secret = last.slice(session.refreshId.length + 1);
    expect(session.refreshHash).not.toBeNull();
    expect(JSON.stringify(await db.all('SELECT * FROM sessions WHERE id = ?', [session.id]))).not.toContain(secret);
  });

  it('any rotated token of a long chain, replayed, is recognised and revokes the session', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 12);
    t.clock.advance(11_000);
    expect((await refresh(tokens[5]!)).statusCode).toBe(401);
    expect((await refresh(tokens.at(-1)!)).statusCode).toBe(401);
    expect((await sessionOf(user.refreshToken)).revokedAt).not.toBeNull();
  });

  it('a made-up token of a real chain (its root with a wrong secret, or a generation never issued) neither rotates nor revokes', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 3);
    const [root] = user.refreshToken.split('.') as [string];
    const forged = [`${root}.2.${'A'.repeat(43)}`, `${root}.3.${'A'.repeat(43)}`, `${root}.4.${'A'.repeat(43)}`, `${root}.99.${'A'.repeat(43)}`, `${root}.0.${'A'.repeat(43)}`];
    for (const token of forged) expect((await refresh(token)).statusCode).toBe(401);
    const session = await sessionOf(user.refreshToken);
    expect(session.revokedAt).toBeNull();
    expect(tokens.at(-1)!.startsWith(`${session.refreshId}.`)).toBe(true);
    expect((await refresh(tokens.at(-1)!)).statusCode).toBe(200);
  });

  it('the one-statement refresh takes the role as stored now, and refuses a disabled user without rotating (another process changed them; this one was not told)', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 2);
    const roleIn = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).role;
    await t.storage.users.update(user.id, { role: 'admin', updatedAt: t.clock.now() });
    const promoted = await refresh(tokens.at(-1)!);
    expect(promoted.statusCode).toBe(200);
    expect(roleIn(promoted.json().access_token)).toBe('admin');
    expect(promoted.json().user.role).toBe('admin');
    await t.storage.users.update(user.id, { role: 'user', updatedAt: t.clock.now() });
    const demoted = await refresh(promoted.json().refresh_token);
    expect(roleIn(demoted.json().access_token)).toBe('user');

    const current = demoted.json().refresh_token as string;
    await t.storage.users.update(user.id, { disabled: true, updatedAt: t.clock.now() });
    expect((await refresh(current)).statusCode).toBe(401);
    expect(current.startsWith(`${(await sessionOf(user.refreshToken)).refreshId}.`)).toBe(true);
  });

  it('a process that has not seen a chain (a restart, another instance) refreshes it through the full path, and then in one statement', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 2);
    const other = await buildTestApp({}, { storage: t.storage });
    try {
      const first = await other.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: tokens.at(-1)! } });
      expect(first.statusCode).toBe(200);
      const second = await other.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: first.json().refresh_token } });
      expect(second.statusCode).toBe(200);
      // The first process's last token was rotated by the other one: replayed here it revokes the session.
      t.clock.advance(11_000);
      other.clock.advance(11_000);
      expect((await refresh(tokens.at(-1)!)).statusCode).toBe(401);
      expect((await sessionOf(user.refreshToken)).revokedAt).not.toBeNull();
    } finally {
      await other.app.close();
    }
  });

  it('RFC 7009: revoking a rotated token ends the session, a made-up one changes nothing', async () => {
    const user = await signUp(t);
    const tokens = await chain(user.refreshToken, 3);
    const revoke = (token: string) => t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token, client_id: 'gatehouse' } });
    const [root] = user.refreshToken.split('.') as [string];
    expect((await revoke(`${root}.2.${'A'.repeat(43)}`)).statusCode).toBe(200);
    expect((await sessionOf(user.refreshToken)).revokedAt).toBeNull();
    expect((await revoke(tokens[1]!)).statusCode).toBe(200);
    expect((await sessionOf(user.refreshToken)).revokedAt).not.toBeNull();
  });
});
