import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, PASSWORD, signUp, type TestApp } from '../../../test/helpers/app.js';
import { createClient } from '../src/index.js';

/** fetch over app.inject(): the real application, in-process, so the server's clock can be moved. */
function injectFetch(app: FastifyInstance, log: string[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const res = await app.inject({ method: request.method as 'GET', url: url.pathname + url.search, headers: Object.fromEntries(request.headers), payload: body });
    log.push(`${request.method} ${url.pathname} ${res.statusCode}`);
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) headers.append(name, String(v));
    return new Response(res.statusCode === 204 ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers });
  };
}

// The server's clock moves past the token's expiry while the client's does not (a client that
// cannot know, e.g. a skewed clock): the first answer is a 401, and the client recovers once.
describe('@gatehouse/client: a 401 is answered by one refresh and one retry', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ ACCESS_TOKEN_TTL: '60s', JWT_CLOCK_LEEWAY: '1ms' });
  });
  afterAll(async () => t?.close());

  it('SES-02: an access token the server refuses is refreshed once and the request retried, body and all', async () => {
    const user = await signUp(t);
    const log: string[] = [];
    const client = createClient({ baseUrl: 'http://gatehouse.test', mode: 'memory', fetch: injectFetch(t.app, log) });
    await client.signIn({ login: user.username, password: PASSWORD });
    t.clock.advance(61_000);

    const res = await client.fetch('/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'retried', price: 1.5 }) });

    expect(res.status).toBe(201);
    expect(log).toEqual(['POST /auth/login 200', 'POST /items 401', 'POST /auth/refresh 200', 'POST /items 201']);
  });

  it('a 401 that a new token does not cure is handed back after one retry, not looped on', async () => {
    const user = await signUp(t);
    const log: string[] = [];
    const gatehouse = injectFetch(t.app, log);
    // A resource server configured for another audience: it refuses every Gatehouse token.
    const refusing: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).origin !== 'http://api.test') return gatehouse(request);
      log.push(`${request.method} api.test${new URL(request.url).pathname} 401`);
      return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    };
    const client = createClient({ baseUrl: 'http://gatehouse.test', mode: 'memory', fetch: refusing, tokenOrigins: ['http://gatehouse.test', 'http://api.test'] });
    await client.signIn({ login: user.username, password: PASSWORD });

    const res = await client.fetch('http://api.test/orders');

    expect(res.status).toBe(401);
    expect(log).toEqual(['POST /auth/login 200', 'GET api.test/orders 401', 'POST /auth/refresh 200', 'GET api.test/orders 401']);
    // Still signed in: the session is fine, the API is what refused.
    expect(client.user).not.toBeNull();
  });
});
