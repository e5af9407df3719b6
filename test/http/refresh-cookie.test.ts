import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problemOf, signUp, type TestApp } from '../helpers/app.js';

describe('browser mode: REFRESH_COOKIE=true', () => {
  let t: TestApp;
  const origin = 'https://app.example.com';
  beforeAll(async () => {
    t = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: origin });
  });
  afterAll(() => t.close());

  const cookieOf = (setCookie: string | string[] | undefined) => /gatehouse_refresh=([^;]*)/.exec(String(setCookie))?.[1];

  it('login sets an HttpOnly, Secure, SameSite=Strict cookie scoped to the refresh path', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: 'correct horse battery staple' } });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/auth\/refresh;/);
    // Out of reach of page scripts: the token is in the cookie only, not in the body.
    expect(cookieOf(setCookie)).toMatch(/^[\w-]{22}\.[\w-]{43}$/);
    expect(res.json()).not.toHaveProperty('refresh_token');
  });

  it('refreshes from the cookie when the Origin is allowed, and rotates the cookie', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: `gatehouse_refresh=${user.refreshToken}`, origin } });
    expect(res.statusCode).toBe(200);
    const rotated = cookieOf(res.headers['set-cookie']);
    expect(rotated).toMatch(/^[\w-]{22}\.1\.[\w-]{43}$/);
    expect(rotated).not.toBe(user.refreshToken);
    expect(res.json()).not.toHaveProperty('refresh_token');
  });

  it('CSRF: a cookie-only refresh from another origin, or with no Origin, is refused and rotates nothing', async () => {
    const user = await signUp(t);
    for (const headers of [{ origin: 'https://evil.example' }, {}]) {
      const res = await t.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: `gatehouse_refresh=${user.refreshToken}`, ...headers } });
      expect(res.statusCode).toBe(403);
      expect(problemOf(res).code).toBe('ERR_FORBIDDEN_ORIGIN');
    }
    // The token was not used up.
    const ok = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(ok.statusCode).toBe(200);
  });

  it('SES-02: no token at all (no cookie, no body) is a 401, what client code reads as "sign in again"', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/auth/refresh' });
    expect(res.statusCode).toBe(401);
    expect(problemOf(res).code).toBe('ERR_AUTH_INVALID_REFRESH_TOKEN');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('logout clears the cookie', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: user.auth });
    expect(res.statusCode).toBe(204);
    expect(String(res.headers['set-cookie'])).toMatch(/gatehouse_refresh=; .*Max-Age=0/);
  });

  it('without browser mode, no cookie is set and a cookie is not accepted', async () => {
    const plain = await buildTestApp();
    try {
      const user = await signUp(plain);
      const login = await plain.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: 'correct horse battery staple' } });
      expect(login.headers['set-cookie']).toBeUndefined();
      const res = await plain.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: `gatehouse_refresh=${user.refreshToken}`, origin: 'http://gatehouse.test' } });
      expect(res.statusCode).toBe(401);
      expect(problemOf(res).code).toBe('ERR_AUTH_INVALID_REFRESH_TOKEN');
      // The cookie was not used: the token still works from the body.
      expect((await plain.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } })).statusCode).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
