import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, buildTestApp, claimsOf as decodeJwt, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

const MINUTE = 60_000;

describe('step-up: recent authentication (MFA-05, RFC 9470)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ EMAIL_VERIFICATION: 'off' });
  });
  afterAll(() => t.close());

  const reauthenticate = (user: TestUser, password = PASSWORD) => t.app.inject({ method: 'POST', url: '/auth/reauthenticate', headers: user.auth, payload: { password } });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Each recent-auth route, as a request that would succeed with a fresh token. */
  const routes: [string, (user: TestUser, headers: Record<string, string>) => Promise<{ statusCode: number }>][] = [
    [
      'POST /auth/password',
      (u, h) => t.app.inject({ method: 'POST', url: '/auth/password', headers: h, payload: { current_password: PASSWORD, new_password: 'a different long passphrase' } }),
    ],
    ['PATCH /auth/me (email)', (u, h) => t.app.inject({ method: 'PATCH', url: '/auth/me', headers: h, payload: { email: `new-${u.username}@example.com` } })],
    ['PATCH /users/:id (own email)', (u, h) => t.app.inject({ method: 'PATCH', url: `/users/${u.id}`, headers: h, payload: { email: `other-${u.username}@example.com` } })],
    ['DELETE /users/:id (own account)', (u, h) => t.app.inject({ method: 'DELETE', url: `/users/${u.id}`, headers: h })],
  ];

  for (const [name, call] of routes) {
    it(`MFA-05: ${name} refuses an auth_time older than REAUTH_MAX_AGE, and accepts it after /auth/reauthenticate`, async () => {
      const user = await signUp(t);
      t.clock.advance(6 * MINUTE);
      const stale = await call(user, user.auth);
      expect(stale.statusCode).toBe(401);
      const res = stale as Awaited<ReturnType<typeof t.app.inject>>;
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
      expect(problemOf(res).code).toBe('ERR_AUTH_STEP_UP_REQUIRED');

      const reauth = await reauthenticate(user);
      expect(reauth.statusCode).toBe(200);
      const body = reauth.json() as { access_token: string; refresh_token?: string; amr: string[] };
      expect(body.refresh_token).toBeUndefined();
      expect(body.amr).toEqual(['pwd']);
      const claims = decodeJwt(body.access_token);
      expect(claims.auth_time).toBe(Math.floor(t.clock.now() / 1000));
      expect((await call(user, bearer(body.access_token))).statusCode).toBeLessThan(300);
    });
  }

  it('MFA-05: a token within the window passes, one second past it does not', async () => {
    const user = await signUp(t);
    // auth_time is in whole seconds: up to one second of the window is spent by the rounding.
    t.clock.advance(5 * MINUTE - 1000);
    const ok = await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: user.auth, payload: { email: `edge-${user.username}@example.com` } });
    expect(ok.statusCode).toBe(200);
    t.clock.advance(2000);
    const late = await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: user.auth, payload: { email: `late-${user.username}@example.com` } });
    expect(late.statusCode).toBe(401);
    // Other profile fields never needed a fresh proof.
    const name = await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: user.auth, payload: { name: 'Still Me' } });
    expect(name.statusCode).toBe(200);
  });

  it('MFA-05: a wrong password does not reauthenticate and is audited; the fresh auth_time, amr and acr survive refresh', async () => {
    const user = await signUp(t);
    const login = decodeJwt(user.accessToken);
    expect(login).toMatchObject({ amr: ['pwd'], acr: 'aal1' });
    t.clock.advance(10 * MINUTE);
    const wrong = await reauthenticate(user, 'not the password at all');
    expect(wrong.statusCode).toBe(401);
    expect(problemOf(wrong).code).toBe('ERR_AUTH_INVALID_CREDENTIALS');
    const failed = await t.services.audit.list({ limit: 5, userId: user.id, type: 'reauth.failed' });
    expect(failed.items).toHaveLength(1);

    expect((await reauthenticate(user)).statusCode).toBe(200);
    const reauthAt = Math.floor(t.clock.now() / 1000);
    t.clock.advance(MINUTE);
    const refreshed = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(refreshed.statusCode).toBe(200);
    const claims = decodeJwt(refreshed.json().access_token);
    expect(claims).toMatchObject({ auth_time: reauthAt, amr: ['pwd'], acr: 'aal1' });
    expect(claims.auth_time).toBeGreaterThan(login.auth_time as number);
  });

  it('MFA-05: /auth/reauthenticate needs a valid access token and a proof', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/auth/reauthenticate', payload: { password: PASSWORD } })).statusCode).toBe(401);
    const user = await signUp(t);
    const empty = await t.app.inject({ method: 'POST', url: '/auth/reauthenticate', headers: user.auth, payload: {} });
    expect(empty.statusCode).toBe(400);
  });

  it('REAUTH_MAX_AGE sets the window and the max_age it announces', async () => {
    const short = await buildTestApp({ REAUTH_MAX_AGE: '60s' });
    try {
      const user = await signUp(short);
      short.clock.advance(61_000);
      const res = await short.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: user.auth });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=60');
    } finally {
      await short.close();
    }
  });

  it('MFA-05: a password-only reauthentication never lowers the session: an enrolment-only session (MFA_REQUIRED) stays one', async () => {
    const strict = await buildTestApp({ MFA_REQUIRED: 'admins' });
    try {
      const admin = await signUp(strict, { admin: true });
      expect(decodeJwt(admin.accessToken)).toMatchObject({ acr: 'enrol' });
      const reauth = await strict.app.inject({ method: 'POST', url: '/auth/reauthenticate', headers: admin.auth, payload: { password: PASSWORD } });
      expect(reauth.statusCode).toBe(200);
      expect(decodeJwt(reauth.json().access_token)).toMatchObject({ acr: 'enrol', amr: ['pwd'] });
      const still = await strict.app.inject({ method: 'GET', url: '/users', headers: bearer(reauth.json().access_token) });
      expect(still.statusCode).toBe(403);
      expect(problemOf(still).code).toBe('ERR_MFA_ENROLMENT_REQUIRED');
    } finally {
      await strict.close();
    }
  });
});
