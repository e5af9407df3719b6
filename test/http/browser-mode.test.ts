import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, PASSWORD, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

// Browser mode as a single-page app on another origin of the same site uses it.
const APP = 'https://app.example.com';
const OWN = 'http://gatehouse.test'; // buildTestApp's JWT_ISSUER
const EVIL = 'https://evil.example';
const EXPOSED = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'location', 'www-authenticate', 'x-request-id'];

const cookieOf = (res: LightMyRequestResponse) => /gatehouse_refresh=([^;]*)/.exec(String(res.headers['set-cookie'] ?? ''))?.[1];
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const vary = (res: LightMyRequestResponse) =>
  String(res.headers.vary ?? '')
    .toLowerCase()
    .split(/\s*,\s*/);

describe('WEB-04: CORS for CORS_ORIGINS', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: `${APP},http://localhost:5173` });
    user = await signUp(t);
  });
  afterAll(() => t.close());

  it('WEB-04: an allow-listed origin gets its own origin back, credentials and the headers a SPA must read', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: { origin: APP, ...user.auth } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const exposed = String(res.headers['access-control-expose-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(EXPOSED));
    expect(vary(res)).toContain('origin');
  });

  it('WEB-04: refusals carry CORS headers too, so the page can read 401 and WWW-Authenticate', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: { origin: 'http://localhost:5173' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('WEB-04: a disallowed, "null" or absent origin gets no Allow-Origin and no Allow-Credentials, and Vary: Origin', async () => {
    for (const headers of [{ origin: EVIL }, { origin: 'null' }, { origin: `${APP}.evil.example` }, { origin: 'http://app.example.com' }, {}]) {
      const res = await t.app.inject({ method: 'GET', url: '/health', headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['access-control-expose-headers']).toBeUndefined();
      // A shared cache must not hand an allowed origin's answer to another origin, or the reverse.
      expect(vary(res)).toContain('origin');
    }
  });

  it('WEB-04: the preflight allows what a SPA sends (authorization, content-type, x-request-id) with credentials', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-request-id' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/POST/);
    const allowed = String(res.headers['access-control-allow-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-request-id']));
  });

  it('WEB-04: a preflight from a disallowed origin is not granted', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.statusCode).not.toBe(204);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('WEB-04: a 429 reaches the page with Retry-After and RateLimit-* readable', async () => {
    const limited = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: APP, RATE_LIMIT: 'on' });
    try {
      let res: LightMyRequestResponse | undefined;
      for (let i = 0; i < 100 && res?.statusCode !== 429; i++) {
        res = await limited.app.inject({ method: 'POST', url: '/auth/refresh', headers: { origin: APP }, payload: { refresh_token: 'x' } });
      }
      expect(res!.statusCode).toBe(429);
      expect(res!.headers['access-control-allow-origin']).toBe(APP);
      expect(res!.headers['access-control-allow-credentials']).toBe('true');
      expect(res!.headers['retry-after']).toMatch(/^\d+$/);
      expect(res!.headers['ratelimit-limit']).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });
});

describe('WEB-01: cookie routes refuse cross-site requests in browser mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: APP });
  });
  afterAll(() => t.close());

  const eventsOf = async (userId: string) => (await t.services.audit.list({ limit: 100, userId })).items.map((e) => e.type);

  /** Every cookie route, with a request that would succeed from a trusted origin. */
  const routes = async () => {
    const user = await signUp(t);
    const fresh = `web01_${Math.random().toString(36).slice(2, 10)}`;
    return [
      { name: '/auth/login', method: 'POST', url: '/auth/login', ok: 200, headers: {}, payload: { login: user.username, password: PASSWORD } },
      { name: '/auth/register', method: 'POST', url: '/auth/register', ok: 201, headers: {}, payload: { username: fresh, email: `${fresh}@example.com`, password: PASSWORD } },
      { name: '/auth/refresh (cookie)', method: 'POST', url: '/auth/refresh', ok: 200, headers: { cookie: `gatehouse_refresh=${user.refreshToken}` }, payload: undefined },
      { name: '/auth/logout', method: 'POST', url: '/auth/logout', ok: 204, headers: user.auth, payload: undefined },
      { name: '/oauth/token', method: 'POST', url: '/oauth/token', ok: 200, headers: {}, payload: { grant_type: 'password', username: user.username, password: PASSWORD } },
    ] as const;
  };

  const crossSite: [string, Record<string, string>][] = [
    ["another site's Origin", { origin: EVIL }],
    ['Origin "null" (sandboxed frame, data: URL)', { origin: 'null' }],
    ['the same host on another scheme', { origin: 'https://gatehouse.test' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['an allow-listed look-alike', { origin: `${APP}.evil.example`, 'sec-fetch-site': 'cross-site' }],
  ];

  for (const [label, extra] of crossSite) {
    it(`WEB-01: ${label} → 403 ERR_FORBIDDEN_ORIGIN on every cookie route, and no cookie`, async () => {
      for (const route of await routes()) {
        const res = await t.app.inject({ method: route.method, url: route.url, headers: { ...route.headers, ...extra }, payload: route.payload });
        expect(res.statusCode, route.name).toBe(403);
        expect(problemOf(res).code, route.name).toBe('ERR_FORBIDDEN_ORIGIN');
        expect(res.headers['set-cookie'], route.name).toBeUndefined();
      }
    });
  }

  const trusted: [string, Record<string, string>][] = [
    ["the service's own Origin", { origin: OWN, 'sec-fetch-site': 'same-origin' }],
    ['an allow-listed Origin, even when the browser says cross-site', { origin: APP, 'sec-fetch-site': 'cross-site' }],
    // /ui opened at http://localhost:3000 while the issuer says 127.0.0.1: the browser vouches that
    // the calling page is of the very origin it calls, so it is one of ours.
    ['a page of this origin under another name of the host (Sec-Fetch-Site: same-origin)', { origin: 'http://localhost:3000', 'sec-fetch-site': 'same-origin' }],
  ];
  for (const [label, extra] of trusted) {
    it(`WEB-01: ${label} is served on every cookie route`, async () => {
      for (const route of await routes()) {
        const res = await t.app.inject({ method: route.method, url: route.url, headers: { ...route.headers, ...extra }, payload: route.payload });
        expect(res.statusCode, `${route.name}: ${res.body}`).toBe(route.ok);
      }
    });
  }

  it('WEB-01: requests with neither Origin nor Sec-Fetch-Site (curl, servers) keep working, except a cookie-only refresh', async () => {
    for (const route of await routes()) {
      const res = await t.app.inject({ method: route.method, url: route.url, headers: route.headers, payload: route.payload });
      if (route.name === '/auth/refresh (cookie)') {
        // A browser sending the cookie always sends Origin with the POST.
        expect(res.statusCode).toBe(403);
        expect(problemOf(res).code).toBe('ERR_FORBIDDEN_ORIGIN');
      } else {
        expect(res.statusCode, `${route.name}: ${res.body}`).toBe(route.ok);
      }
    }
  });

  it('WEB-01: a cross-site form login is refused before any work: no password check, no audit event, no cookie, no session', async () => {
    const victimOfCsrf = await signUp(t);
    const before = await eventsOf(victimOfCsrf.id);
    const sessions = (await t.services.sessions.listActive(victimOfCsrf.id)).length;
    for (const password of [PASSWORD, 'a wrong password']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { origin: EVIL, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ login: victimOfCsrf.username, password }),
      });
      expect(res.statusCode).toBe(403);
      expect(problemOf(res).code).toBe('ERR_FORBIDDEN_ORIGIN');
      expect(cookieOf(res)).toBeUndefined();
    }
    // Neither login.succeeded nor login.failed: the password was never looked at.
    expect(await eventsOf(victimOfCsrf.id)).toEqual(before);
    expect((await t.services.sessions.listActive(victimOfCsrf.id)).length).toBe(sessions);
  });

  it('WEB-01: a cross-site form register creates no account', async () => {
    const name = `csrf_${Math.random().toString(36).slice(2, 10)}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ username: name, email: `${name}@example.com`, password: PASSWORD }),
    });
    expect(res.statusCode).toBe(403);
    const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: name, password: PASSWORD } });
    expect(login.statusCode).toBe(401);
  });

  it('WEB-01: a cross-site refresh does not spend the token, a cross-site logout does not end the session', async () => {
    const user = await signUp(t);
    const refresh = await t.app.inject({ method: 'POST', url: '/auth/refresh', headers: { origin: EVIL }, payload: { refresh_token: user.refreshToken } });
    expect(refresh.statusCode).toBe(403);
    const logout = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { origin: EVIL, ...user.auth } });
    expect(logout.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } })).statusCode).toBe(200);
  });

  it('WEB-01: without browser mode there is no cookie to forge, and cross-site API use is up to CORS', async () => {
    const plain = await buildTestApp({ CORS_ORIGINS: APP });
    try {
      const user = await signUp(plain);
      const res = await plain.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' },
        payload: { login: user.username, password: PASSWORD },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
      // ...and that other site's page cannot read the answer (WEB-04).
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('browser mode: the token routes and the cookie', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: APP });
  });
  afterAll(() => t.close());

  it('SES-05: /oauth/token sets the cookie like /auth/login and keeps the refresh token out of the body (both grants)', async () => {
    const user = await signUp(t);
    const password = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'password', username: user.username, password: PASSWORD }),
    });
    expect(password.statusCode).toBe(200);
    expect(password.json()).not.toHaveProperty('refresh_token');
    expect(String(password.headers['set-cookie'])).toMatch(/HttpOnly; Secure; SameSite=Strict/);
    const fromCookie = cookieOf(password)!;
    expect(fromCookie).toMatch(/^[\w-]{22}\.[\w-]{43}$/);

    const grant = await t.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: fromCookie } });
    expect(grant.statusCode).toBe(200);
    expect(grant.json()).not.toHaveProperty('refresh_token');
    const rotated = cookieOf(grant)!;
    expect(rotated).toMatch(/^[\w-]{22}\.1\.[\w-]{43}$/);
    expect(rotated).not.toBe(fromCookie);

    // The rotated cookie is what /auth/refresh takes next.
    const next = await t.app.inject({ method: 'POST', url: '/auth/refresh', headers: { origin: APP, cookie: `gatehouse_refresh=${rotated}` } });
    expect(next.statusCode).toBe(200);
  });

  it('SES-02: a refresh with no cookie and no token answers 401 with WWW-Authenticate, whatever the empty body looks like', async () => {
    const empties = [
      { headers: { origin: APP } },
      { headers: { origin: APP }, payload: {} },
      { headers: { origin: APP, 'content-type': 'application/json' }, payload: '' },
      { headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
      { headers: { origin: APP, cookie: 'other=1' } },
    ];
    for (const request of empties) {
      const res = await t.app.inject({ method: 'POST', url: '/auth/refresh', ...request });
      expect(res.statusCode, JSON.stringify(request)).toBe(401);
      expect(problemOf(res).code).toBe('ERR_AUTH_INVALID_REFRESH_TOKEN');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.headers['access-control-allow-origin']).toBe(APP);
    }
  });

  it('SES-03: logout clears the cookie, also with an empty JSON body, and the cleared session does not refresh', async () => {
    const user = await signUp(t);
    const res = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { origin: APP, 'content-type': 'application/json', ...user.auth }, payload: '' });
    expect(res.statusCode).toBe(204);
    expect(String(res.headers['set-cookie'])).toMatch(/^gatehouse_refresh=; Path=\/auth\/refresh; Max-Age=0; HttpOnly; Secure; SameSite=Strict$/);
    const after = await t.app.inject({ method: 'POST', url: '/auth/refresh', headers: { origin: APP, cookie: `gatehouse_refresh=${user.refreshToken}` } });
    expect(after.statusCode).toBe(401);
  });
});
