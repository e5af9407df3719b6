import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { DOCUMENT_HEADERS, registerSecurityHeaders, SECURITY_HEADERS } from '../../src/http/security-headers.js';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.js';

/**
 * The security headers are fixed at start and sent on every answer of the API: success, refusal,
 * 404 and framework errors alike. The hosted docs keep a policy of their own.
 */
describe('security headers', () => {
  let t: TestApp;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await buildTestApp();
    auth = (await signUp(t)).auth;
  });
  afterAll(() => t.close());

  const cases: [string, () => { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: string }, number][] = [
    ['a public route', () => ({ method: 'GET', url: '/health' }), 200],
    ['an authenticated route', () => ({ method: 'GET', url: '/auth/me', headers: auth }), 200],
    ['a refused token', () => ({ method: 'GET', url: '/auth/me', headers: { authorization: 'Bearer nope' } }), 401],
    ['an unknown route', () => ({ method: 'GET', url: '/nowhere' }), 404],
    ['a body that is not JSON', () => ({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: '{' }), 400],
  ];
  for (const [what, request, status] of cases) {
    it(`AC-01: ${what} carries every security header, and a request id`, async () => {
      const res = await t.app.inject(request());
      expect(res.statusCode).toBe(status);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name], name).toBe(value);
      // A fresh UUIDv7 when the caller sent none, so log lines sort by it.
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // No answer of the API is kept by a cache unless its route says it may be.
      expect(res.headers['cache-control']).toBe('no-store');
      // Headers that act on rendered documents only are left off JSON answers.
      for (const name of Object.keys(DOCUMENT_HEADERS)) expect(res.headers[name], name).toBeUndefined();
    });
  }

  const pages: [string, string][] = [
    ['a hosted page', '/ui/login'],
    ['the API documentation', '/docs'],
    ["the provider's error page for an unknown client (OIDC-02)", '/oauth/authorize?client_id=nobody&response_type=code'],
  ];
  for (const [what, url] of pages) {
    it(`${what} carries the document headers as well, with a policy of its own`, async () => {
      const res = await t.app.inject({ url });
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      for (const [name, value] of Object.entries({ ...SECURITY_HEADERS, ...DOCUMENT_HEADERS })) {
        if (name !== 'content-security-policy') expect(res.headers[name], name).toBe(value);
      }
      expect(res.headers['content-security-policy']).toEqual(expect.any(String));
    });
  }

  it('an answer that may be cached says so itself (the JWKS)', async () => {
    const res = await t.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a header set by a hook that ran first is kept, and the security headers are added', async () => {
    const app = Fastify();
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('X-Earlier', 'kept');
      done();
    });
    registerSecurityHeaders(app);
    app.get('/', async () => ({ ok: true }));
    const res = await app.inject({ url: '/' });
    await app.close();
    expect(res.headers['x-earlier']).toBe('kept');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name], name).toBe(value);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('the API forbids a browser everything a document could do', () => {
    expect(SECURITY_HEADERS['content-security-policy']).toContain("default-src 'none'");
    expect(SECURITY_HEADERS['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it("/docs sends its own Content-Security-Policy, not the API's", async () => {
    const res = await t.app.inject({ url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toEqual(expect.any(String));
    expect(res.headers['content-security-policy']).not.toBe(SECURITY_HEADERS['content-security-policy']);
  });
});
