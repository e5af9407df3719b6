import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.js';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('registers, logs in and reads /auth/me', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, username: user.username, email: user.email, role: 'user' });
    expect(res.json()).not.toHaveProperty('password_hash');
  });

  it('logout with no body ends the session', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: user.auth });
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(401);
  });
});
