import express from 'express';
import Fastify from 'fastify';
import { Hono, type MiddlewareHandler } from 'hono';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forge } from '../../../test/helpers/forge.js';
import { authorize as expressAuthorize, gatehouse as expressGatehouse } from '../src/adapters/express.js';
import { authorize as fastifyAuthorize, gatehouse as fastifyGatehouse } from '../src/adapters/fastify.js';
import { authenticate, withAuth } from '../src/adapters/fetch.js';
import { createVerifier, requireRole, requireScope, type AccessTokenClaims, type Requirement } from '../src/index.js';

/**
 * Each adapter answers the same requests the same way: 401 with `WWW-Authenticate: Bearer` (RFC 6750
 * §3.1: no error code when no token was sent), 401 `error="invalid_token"`, 403
 * `error="insufficient_scope"` (with `scope="…"` when a scope is missing), each with a problem+json
 * body carrying the stable code; 200 with the claims on request.auth / req.auth / the context.
 * HS256 tokens made with node:crypto (test/helpers/forge.ts) keep this file independent of a server.
 */

const SECRET = randomBytes(48).toString('base64url');
const ISSUER = 'https://auth.example.com';
const verifier = createVerifier({ issuer: ISSUER, audience: 'api', secret: SECRET });
const now = () => Math.floor(Date.now() / 1000);
const token = (patch: Record<string, unknown> = {}) =>
  forge(
    { alg: 'HS256', typ: 'at+jwt' },
    {
      iss: ISSUER,
      aud: 'api',
      sub: 'user-1',
      sid: 's1',
      role: 'user',
      client_id: 'gatehouse',
      scope: 'items:read',
      jti: randomBytes(8).toString('hex'),
      iat: now(),
      exp: now() + 600,
      ...patch,
    },
    'HS256',
    SECRET,
  );

interface Answer {
  readonly status: number;
  readonly header: (name: string) => string | null;
  readonly body: Record<string, unknown>;
}
/** One app per framework, answering GET /public, /me, /admin (role admin), /write (scope items:write). */
type Call = (path: string, authorization?: string) => Promise<Answer>;

async function fromResponse(res: Response): Promise<Answer> {
  return { status: res.status, header: (name) => res.headers.get(name), body: (await res.json()) as Record<string, unknown> };
}

function fastifyApp(): { call: Call; close: () => Promise<void> } {
  const app = Fastify();
  app.get('/public', async () => ({ ok: true }));
  void app.register(async (api) => {
    await api.register(fastifyGatehouse, { verifier });
    api.get('/me', async (request) => ({ sub: request.auth!.sub }));
    api.get('/admin', { preHandler: fastifyAuthorize(requireRole('admin')) }, async (request) => ({ sub: request.auth!.sub }));
    api.get('/write', { preHandler: fastifyAuthorize(requireScope('items:write')) }, async (request) => ({ sub: request.auth!.sub }));
  });
  return {
    call: async (path, authorization) => {
      const res = await app.inject({ method: 'GET', url: path, headers: authorization === undefined ? {} : { authorization } });
      return { status: res.statusCode, header: (name) => (res.headers[name] as string | undefined) ?? null, body: res.json() };
    },
    close: () => app.close(),
  };
}

let expressServer: ReturnType<ReturnType<typeof express>['listen']>;
function expressApp(): { call: Call; start: () => Promise<void>; close: () => Promise<void> } {
  const app = express();
  app.get('/public', (_req, res) => void res.json({ ok: true }));
  app.use(expressGatehouse({ verifier }));
  app.get('/me', (req, res) => void res.json({ sub: req.auth!.sub }));
  app.get('/admin', expressAuthorize(requireRole('admin')), (req, res) => void res.json({ sub: req.auth!.sub }));
  app.get('/write', expressAuthorize(requireScope('items:write')), (req, res) => void res.json({ sub: req.auth!.sub }));
  let base = '';
  return {
    start: () =>
      new Promise((resolve) => {
        expressServer = app.listen(0, '127.0.0.1', () => {
          base = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`;
          resolve();
        });
      }),
    call: async (path, authorization) => fromResponse(await fetch(`${base}${path}`, { headers: authorization === undefined ? {} : { authorization } })),
    close: () => new Promise((resolve) => expressServer.close(() => resolve())),
  };
}

function honoApp(): Call {
  type Env = { Variables: { auth: AccessTokenClaims } };
  const guard =
    (...requirements: Requirement[]): MiddlewareHandler<Env> =>
    async (c, next) => {
      const result = await authenticate(c.req.raw, verifier, ...requirements);
      if (!result.ok) return result.response;
      c.set('auth', result.auth);
      await next();
    };
  const app = new Hono<Env>();
  app.get('/public', (c) => c.json({ ok: true }));
  app.get('/me', guard(), (c) => c.json({ sub: c.get('auth').sub }));
  app.get('/admin', guard(requireRole('admin')), (c) => c.json({ sub: c.get('auth').sub }));
  app.get('/write', guard(requireScope('items:write')), (c) => c.json({ sub: c.get('auth').sub }));
  return async (path, authorization) => fromResponse(await app.request(path, { headers: authorization === undefined ? {} : { authorization } }));
}

function fetchHandler(): Call {
  const ok = (_request: Request, auth: AccessTokenClaims) => Response.json({ sub: auth.sub });
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    '/public': async () => Response.json({ ok: true }),
    '/me': withAuth(verifier, ok),
    '/admin': withAuth(verifier, ok, requireRole('admin')),
    '/write': withAuth(verifier, ok, requireScope('items:write')),
  };
  return async (path, authorization) => fromResponse(await routes[path]!(new Request(`http://api.test${path}`, { headers: authorization === undefined ? {} : { authorization } })));
}

const fastify = fastifyApp();
const expressHarness = expressApp();
const adapters: [string, Call][] = [
  ['Fastify plugin', fastify.call],
  ['Express middleware', expressHarness.call],
  ['Hono (fetch-style authenticate)', honoApp()],
  ['Web Request handler (withAuth)', fetchHandler()],
];

beforeAll(() => expressHarness.start());
afterAll(async () => {
  await fastify.close();
  await expressHarness.close();
});

describe.each(adapters)('%s', (_name, call) => {
  const refused = (answer: Answer, status: number, code: string) => {
    expect(answer.status).toBe(status);
    expect(answer.header('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status, code });
    expect(typeof answer.body.detail).toBe('string');
  };

  it('AC-01: no token (or another scheme) → 401 with a bare Bearer challenge and ERR_TOKEN_MISSING; public routes stay public', async () => {
    for (const authorization of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const answer = await call('/me', authorization);
      refused(answer, 401, 'ERR_TOKEN_MISSING');
      expect(answer.header('www-authenticate')).toBe('Bearer');
    }
    expect((await call('/public')).status).toBe(200);
  });

  it('JWT-03/CLM-01: a bad or expired token → 401 error="invalid_token" with ERR_TOKEN_INVALID / ERR_TOKEN_EXPIRED', async () => {
    const forged = token().slice(0, -4) + 'AAAA';
    for (const [authorization, code] of [
      [`Bearer ${forged}`, 'ERR_TOKEN_INVALID'],
      ['Bearer not.a.jwt', 'ERR_TOKEN_INVALID'],
      [`Bearer ${token()} extra`, 'ERR_TOKEN_INVALID'],
      [`Bearer ${token({ aud: 'another-api' })}`, 'ERR_TOKEN_INVALID'],
      [`Bearer ${token({ iat: now() - 7200, exp: now() - 3600 })}`, 'ERR_TOKEN_EXPIRED'],
    ] as const) {
      const answer = await call('/me', authorization);
      refused(answer, 401, code);
      expect(answer.header('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    }
  });

  it('AC-03: a valid token without the role → 403 error="insufficient_scope" and ERR_FORBIDDEN; with it → 200', async () => {
    const answer = await call('/admin', `Bearer ${token()}`);
    refused(answer, 403, 'ERR_FORBIDDEN');
    expect(answer.header('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    const admin = await call('/admin', `bearer ${token({ role: 'admin', sub: 'admin-1' })}`);
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ sub: 'admin-1' });
  });

  it('a valid token without the scope → 403 with scope="items:write" and ERR_INSUFFICIENT_SCOPE; with it → 200', async () => {
    const answer = await call('/write', `Bearer ${token()}`);
    refused(answer, 403, 'ERR_INSUFFICIENT_SCOPE');
    expect(answer.header('www-authenticate')).toMatch(/^Bearer error="insufficient_scope", error_description="[^"]+", scope="items:write"$/);
    expect((await call('/write', `Bearer ${token({ scope: 'items:read items:write' })}`)).status).toBe(200);
  });

  it('a valid token → 200 with the claims on the request', async () => {
    const answer = await call('/me', `Bearer ${token()}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sub: 'user-1' });
  });
});

describe('keys out of reach', () => {
  it('ERR_DISCOVERY_FAILED → 503 problem+json without a Bearer challenge (the token may be fine)', async () => {
    const unreachable = createVerifier({ issuer: ISSUER, audience: 'api', jwksUri: 'http://127.0.0.1:1/jwks', timeout: 1000 });
    const handler = withAuth(unreachable, () => new Response('unreachable'));
    const res = await handler(new Request('http://api.test/', { headers: { authorization: `Bearer ${forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k' }, {}, 'HS256', SECRET)}` } }));
    expect(res.status).toBe(503);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await res.json()).toMatchObject({ status: 503, code: 'ERR_DISCOVERY_FAILED' });
  });
});
