import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, FIRST_SECRET, SERVICE_SECRET, testClientStore } from '../helpers/clients.js';
import { buildTestApp, PASSWORD, signUp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * The OAuth 2.0 endpoints against RFC 6749 (token endpoint, client authentication), RFC 7009
 * (revocation), RFC 8414 (metadata), and SES-07 / SES-08.
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({}, { clients: testClientStore });
  user = await signUp(t);
});
afterAll(() => t.close());

function post(url: string, form: string | Record<string, string>, headers: Record<string, string> = {}, remoteAddress?: string) {
  const payload = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  return t.app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload, ...(remoteAddress ? { remoteAddress } : {}) });
}
const token = (form: string | Record<string, string>, headers: Record<string, string> = {}) => post('/oauth/token', form, headers);
const passwordGrant = (extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  token({ grant_type: 'password', username: user.username, password: PASSWORD, ...extra }, headers);

async function sessionCount(): Promise<number> {
  return (await t.services.sessions.listActive(user.id)).length;
}

/** An RFC 6749 §5.2 error: JSON with `error`, no-store, and the expected status. */
function expectOAuthError(res: LightMyRequestResponse, status: number, error: string, label = ''): Record<string, unknown> {
  expect(res.statusCode, `${label} ${res.body}`).toBe(status);
  expect(res.headers['content-type'], label).toMatch(/^application\/json/);
  expect(res.headers['cache-control'], label).toBe('no-store');
  const body = res.json() as Record<string, unknown>;
  expect(body.error, `${label} ${res.body}`).toBe(error);
  if (error === 'invalid_client') expect(res.headers['www-authenticate'], label).toMatch(/^Basic realm="gatehouse"/);
  return body;
}

describe('POST /oauth/token: parameters (RFC 6749 §3.2)', () => {
  it('RFC 6749 §3.2: unrecognised parameters are ignored (resource, audience, client_secret=, foo)', async () => {
    const res = await passwordGrant({ resource: 'https://api.example', audience: 'api', foo: 'bar', client_secret: '', redirect_uri: 'x' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'Bearer', scope: '' });
  });

  it('RFC 6749 §3.2: a parameter it uses sent twice is invalid_request, and nothing is issued', async () => {
    const before = await sessionCount();
    const base = `username=${encodeURIComponent(user.username)}&password=${encodeURIComponent(PASSWORD)}`;
    for (const form of [
      `grant_type=password&grant_type=password&${base}`,
      `grant_type=password&${base}&password=x`,
      `grant_type=password&${base}&username=other`,
      `grant_type=password&grant_type=authorization_code&${base}`,
      `grant_type=password&${base}&client_id=gatehouse&client_id=mobile`,
      `grant_type=password&${base}&scope=a&scope=b`,
    ]) {
      const body = expectOAuthError(await token(form), 400, 'invalid_request', form);
      expect(String(body.error_description)).toMatch(/more than once/);
    }
    expect(await sessionCount()).toBe(before);
  });

  it('RFC 6749 §3.2 / RFC 8707 §2: parameters it does not use are ignored even when repeated (resource=a&resource=b)', async () => {
    const res = await token(
      `grant_type=password&username=${encodeURIComponent(user.username)}&password=${encodeURIComponent(PASSWORD)}&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&foo=1&foo=2`,
    );
    expect(res.statusCode, res.body).toBe(200);
  });

  it('RFC 6749 §3.2: the parameters it uses are still validated', async () => {
    for (const extra of [{ username: 'x'.repeat(300) }, { password: 'p'.repeat(2000) }, { username: 'a\u0000b' }] as Record<string, string>[]) {
      expectOAuthError(await passwordGrant(extra), 400, 'invalid_request', JSON.stringify(extra).slice(0, 40));
    }
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: 'r'.repeat(9000) }), 400, 'invalid_request');
  });

  it('RFC 6749 §5.2: missing grant_type, or no body, is invalid_request', async () => {
    expectOAuthError(await token({ username: user.username, password: PASSWORD }), 400, 'invalid_request');
    expectOAuthError(await token(''), 400, 'invalid_request');
    expectOAuthError(await t.app.inject({ method: 'POST', url: '/oauth/token' }), 400, 'invalid_request');
  });

  it('RFC 6749 §5.2: any grant it does not serve is unsupported_grant_type, whatever comes with it', async () => {
    const cases = [
      // authorization_code and client_credentials exist now (see oauth-provider.test.ts); these do not.
      'grant_type=implicit&code=x&redirect_uri=y',
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer',
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&scope=a%01b',
      `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x`,
      `grant_type=implicit&username=${'x'.repeat(300)}&password=${'y'.repeat(2000)}`,
      'grant_type=PASSWORD',
      'grant_type=',
    ];
    for (const form of cases) expectOAuthError(await token(form), 400, 'unsupported_grant_type', form.slice(0, 60));
    // Even with client credentials that would fail: the grant is decided first.
    expectOAuthError(await token('grant_type=implicit&code=x', { authorization: 'Basic !!!' }), 400, 'unsupported_grant_type');
  });
});

describe('POST /oauth/token: client authentication (RFC 6749 §2.3)', () => {
  it('RFC 6749 §2.3: no client named means the first-party public client `gatehouse`; client_id alone (none) works for public clients', async () => {
    for (const [extra, headers, clientId] of [
      [{}, {}, 'gatehouse'],
      [{ client_id: 'gatehouse' }, {}, 'gatehouse'],
      [{}, { authorization: basic('gatehouse', '') }, 'gatehouse'],
      [{ client_id: 'mobile' }, {}, 'mobile'],
    ] as const) {
      const res = await passwordGrant(extra, headers);
      expect(res.statusCode, res.body).toBe(200);
      expect(decode(res.json().access_token)).toMatchObject({ client_id: clientId });
    }
  });

  it('RFC 6749 §2.3.1: client_secret_basic (form-urlencoded id and secret) and client_secret_post authenticate a confidential client', async () => {
    const viaBasic = await passwordGrant({}, { authorization: basic('console', FIRST_SECRET) });
    expect(viaBasic.statusCode, viaBasic.body).toBe(200);
    expect(decode(viaBasic.json().access_token)).toMatchObject({ client_id: 'console' });
    const viaPost = await passwordGrant({ client_id: 'console', client_secret: FIRST_SECRET });
    expect(viaPost.statusCode, viaPost.body).toBe(200);
    // Repeating the id in the body beside Basic is allowed (requests-oauthlib include_client_id).
    const both = await passwordGrant({ client_id: 'console' }, { authorization: basic('console', FIRST_SECRET) });
    expect(both.statusCode, both.body).toBe(200);
    // Special characters in id and secret survive the §2.3.1 encoding; either of two secrets (rotation) works.
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(10) }, { authorization: basic('svc:reports', SERVICE_SECRET) });
    expectOAuthError(refresh, 400, 'invalid_grant');
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('svc:reports', 'old secret') }), 400, 'invalid_grant');
  });

  it('RFC 6749 §2.3: bad client authentication is invalid_client, 401 with WWW-Authenticate: Basic, and issues nothing', async () => {
    const before = await sessionCount();
    const utf8Garbage = `Basic ${Buffer.from([0x63, 0x3a, 0xff, 0xfe]).toString('base64')}`;
    const cases: [string, Record<string, string>, Record<string, string>][] = [
      ['garbage Basic', {}, { authorization: 'Basic !!!' }],
      ['empty Basic', {}, { authorization: 'Basic ' }],
      ['Basic without a colon', {}, { authorization: `Basic ${Buffer.from('gatehouse').toString('base64')}` }],
      ['Basic with an empty id', {}, { authorization: `Basic ${Buffer.from(':secret').toString('base64')}` }],
      ['Basic not UTF-8', {}, { authorization: utf8Garbage }],
      ['Basic with a broken %-escape', {}, { authorization: `Basic ${Buffer.from('console:%zz').toString('base64')}` }],
      ['a Bearer token instead', {}, { authorization: `Bearer ${user.accessToken}` }],
      ['unknown client (post)', { client_id: 'nobody', client_secret: 'x' }, {}],
      ['unknown client (none)', { client_id: 'nobody' }, {}],
      ['unknown client (basic)', {}, { authorization: basic('nobody', 'x') }],
      ['a secret for the public client (post)', { client_id: 'gatehouse', client_secret: 'x' }, {}],
      ['a secret for the public client (basic)', {}, { authorization: basic('gatehouse', 'x') }],
      ['a secret for another public client', { client_id: 'mobile', client_secret: 'x' }, {}],
      ['wrong secret (basic)', {}, { authorization: basic('console', 'wrong') }],
      ['wrong secret (post)', { client_id: 'console', client_secret: 'wrong' }, {}],
      ['confidential client without its secret', { client_id: 'console' }, {}],
      ['both methods at once', { client_id: 'console', client_secret: FIRST_SECRET }, { authorization: basic('console', FIRST_SECRET) }],
      ['body client_id differs from Basic', { client_id: 'mobile' }, { authorization: basic('console', FIRST_SECRET) }],
      ['client_secret without client_id', { client_secret: FIRST_SECRET }, {}],
    ];
    for (const [label, extra, headers] of cases) expectOAuthError(await passwordGrant(extra, headers), 401, 'invalid_client', label);
    expect(await sessionCount()).toBe(before);
  });

  it('RFC 6749 §4.3: the password grant is for first-party clients only (unauthorized_client)', async () => {
    const before = await sessionCount();
    expectOAuthError(await passwordGrant({}, { authorization: basic('svc:reports', SERVICE_SECRET) }), 400, 'unauthorized_client');
    expect(await sessionCount()).toBe(before);
  });
});

describe('refresh tokens are bound to their client (SES-08)', () => {
  it('SES-08: a refresh token issued to one client is invalid_grant for any other, and still works for its own', async () => {
    const login = (await passwordGrant({ client_id: 'mobile' })).json();
    for (const [extra, headers] of [
      [{}, {}],
      [{ client_id: 'gatehouse' }, {}],
      [{}, { authorization: basic('console', FIRST_SECRET) }],
    ] as const) {
      expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token, ...extra }, headers), 400, 'invalid_grant');
    }
    // /auth/refresh is the first-party client's: it refuses the mobile client's token too.
    const viaAuth = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: login.refresh_token } });
    expect(viaAuth.statusCode).toBe(401);
    const own = await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'mobile' });
    expect(own.statusCode, own.body).toBe(200);
    expect(decode(own.json().access_token)).toMatchObject({ client_id: 'mobile' });
    const audit = await t.services.audit.list({ limit: 5, type: 'client.mismatch' });
    expect(audit.items[0]).toMatchObject({ subjectId: user.id, details: { operation: 'refresh' } });
  });

  it('SES-08: first-party logins (/auth/login, /auth/refresh) are the client `gatehouse`, and interchange with /oauth/token without client_id', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } });
    expect(decode(login.json().access_token)).toMatchObject({ client_id: 'gatehouse' });
    const viaToken = await token({ grant_type: 'refresh_token', refresh_token: login.json().refresh_token });
    expect(viaToken.statusCode).toBe(200);
    const viaAuth = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: viaToken.json().refresh_token } });
    expect(viaAuth.statusCode).toBe(200);
    expect(decode(viaAuth.json().access_token)).toMatchObject({ client_id: 'gatehouse' });
  });
});

describe('access-token claims: client_id, scope, auth_time (RFC 9068 §2.2)', () => {
  it('RFC 9068: client_id, scope and auth_time are in the token; auth_time is the login time and survives refresh', async () => {
    const loginAt = Math.floor(t.clock.now() / 1000);
    const first = (await passwordGrant()).json();
    const claims = decode(first.access_token);
    expect(claims).toMatchObject({ client_id: 'gatehouse', scope: '', auth_time: loginAt });
    expect(first.scope).toBe('');
    t.clock.advance(3_600_000);
    const next = (await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })).json();
    const refreshed = decode(next.access_token);
    expect(refreshed.auth_time).toBe(loginAt);
    expect(refreshed.iat).toBe(loginAt + 3600);
    // Existing verification accepts the new claims.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${next.access_token}` } })).statusCode).toBe(200);
  });

  it('RFC 6749 §3.3: requested scopes the client may not have are ignored, and the response says what was granted', async () => {
    const none = await passwordGrant({ scope: 'openid profile email' });
    expect(none.statusCode).toBe(200);
    expect(none.json().scope).toBe('');
    expect(decode(none.json().access_token).scope).toBe('');

    const some = await passwordGrant({ client_id: 'console', client_secret: FIRST_SECRET, scope: 'items.read admin openid' });
    expect(some.json().scope).toBe('items.read');
    expect(decode(some.json().access_token).scope).toBe('items.read');
    const all = (await passwordGrant({ client_id: 'console', client_secret: FIRST_SECRET })).json();
    expect(all.scope).toBe('items.read items.write');

    // §6: a refresh may narrow the scope, never widen it; without scope it keeps what was granted.
    const auth = { authorization: basic('console', FIRST_SECRET) };
    const narrowed = (await token({ grant_type: 'refresh_token', refresh_token: some.json().refresh_token, scope: 'items.read items.write' }, auth)).json();
    expect(narrowed.scope).toBe('items.read');
    const kept = (await token({ grant_type: 'refresh_token', refresh_token: all.refresh_token }, auth)).json();
    expect(kept.scope).toBe('items.read items.write');
    const fewer = (await token({ grant_type: 'refresh_token', refresh_token: kept.refresh_token, scope: 'items.write' }, auth)).json();
    expect(fewer.scope).toBe('items.write');
    const back = (await token({ grant_type: 'refresh_token', refresh_token: fewer.refresh_token }, auth)).json();
    expect(back.scope).toBe('items.read items.write');
  });

  it('RFC 6749 §3.3: a malformed scope is invalid_scope, and the refresh token stays usable', async () => {
    const before = await sessionCount();
    for (const scope of ['a  b', ' a', 'a\u0001', 'quote"d', 'back\\slash']) expectOAuthError(await passwordGrant({ scope }), 400, 'invalid_scope', JSON.stringify(scope));
    expect(await sessionCount()).toBe(before);
    const login = (await passwordGrant()).json();
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token, scope: 'a  b' }), 400, 'invalid_scope');
    expect((await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token })).statusCode).toBe(200);
  });
});

describe('SES-07: an access token never outlives its session', () => {
  it('SES-07: a token minted seconds before the absolute end expires then, and expires_in says so', async () => {
    const short = await buildTestApp({ REFRESH_TOKEN_TTL: '1h' });
    try {
      const u = await signUp(short);
      const loginAt = short.clock.now();
      const end = loginAt + 3_600_000;
      short.clock.advance(3_600_000 - 10_000);
      const viaAuth = await short.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: u.refreshToken } });
      const viaToken = await short.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: viaAuth.json().refresh_token } });
      for (const res of [viaAuth, viaToken]) {
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json();
        const claims = decode(body.access_token);
        expect(claims.exp).toBe(Math.floor(end / 1000));
        expect(body.expires_in).toBe((claims.exp as number) - (claims.iat as number));
        expect(body.expires_in).toBeLessThanOrEqual(10);
        expect(body.expires_in).toBeGreaterThanOrEqual(9);
      }
      // Past the end (and the leeway), an offline check of the signature and claims refuses it too.
      short.clock.advance(10_000 + short.config.jwt.clockLeewayMs + 1000);
      expect(() => short.services.tokens.verify(viaToken.json().access_token)).toThrow(/expired/);
      // Far from the end, the full TTL applies.
      short.clock.set(loginAt);
      const fresh = await short.app.inject({ method: 'POST', url: '/auth/login', payload: { login: u.username, password: PASSWORD } });
      expect(fresh.json().expires_in).toBe(900);
      const claims = decode(fresh.json().access_token);
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    } finally {
      await short.close();
    }
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  const revoke = (form: Record<string, string> | string, headers: Record<string, string> = {}) => post('/oauth/revoke', form, headers);
  const me = (accessToken: string) => t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } });
  const expectEmpty200 = (res: LightMyRequestResponse, label = '') => {
    expect(res.statusCode, `${label} ${res.body}`).toBe(200);
    expect(res.body, label).toBe('');
  };

  it('SES-08 / RFC 7009 §2.1: revoking a refresh token ends its session (refresh and access token both stop), without an access token', async () => {
    const login = (await passwordGrant()).json();
    expectEmpty200(await revoke({ token: login.refresh_token, token_type_hint: 'refresh_token' }));
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token }), 400, 'invalid_grant');
    expect((await me(login.access_token)).statusCode).toBe(401);
    const audit = await t.services.audit.list({ limit: 1, type: 'token.revoked' });
    expect(audit.items[0]).toMatchObject({ subjectId: user.id, details: { client_id: 'gatehouse' } });
  });

  it('RFC 7009 §2.1: revoking an access token ends its session; a wrong token_type_hint does not matter', async () => {
    const login = (await passwordGrant({ client_id: 'mobile' })).json();
    expectEmpty200(await revoke({ token: login.access_token, token_type_hint: 'refresh_token', client_id: 'mobile' }));
    expect((await me(login.access_token)).statusCode).toBe(401);
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'mobile' }), 400, 'invalid_grant');
  });

  it('RFC 7009 §2.2: unknown, invalid and already revoked tokens answer 200 with an empty body', async () => {
    const login = (await passwordGrant()).json();
    const [id] = login.refresh_token.split('.');
    for (const value of ['nope', `${id}.${'A'.repeat(43)}`, 'a.b.c', login.access_token.slice(0, -4) + 'AAAA', 'x'.repeat(4000)]) {
      expectEmpty200(await revoke({ token: value }), value.slice(0, 20));
    }
    expect((await me(login.access_token)).statusCode).toBe(200);
    expectEmpty200(await revoke({ token: login.refresh_token }));
    expectEmpty200(await revoke({ token: login.refresh_token }));
  });

  it('SES-08: a token of another client is not revoked, and the answer is the same 200', async () => {
    const login = (await passwordGrant({ client_id: 'mobile' })).json();
    expectEmpty200(await revoke({ token: login.refresh_token }));
    expectEmpty200(await revoke({ token: login.access_token }, { authorization: basic('console', FIRST_SECRET) }));
    expect((await me(login.access_token)).statusCode).toBe(200);
    expect((await token({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'mobile' })).statusCode).toBe(200);
    const audit = await t.services.audit.list({ limit: 1, type: 'client.mismatch' });
    expect(audit.items[0]).toMatchObject({ details: { operation: 'revoke' } });
  });

  it('RFC 7009 §2.1: client authentication as at the token endpoint; bad credentials are invalid_client', async () => {
    const login = (await passwordGrant({}, { authorization: basic('console', FIRST_SECRET) })).json();
    expectOAuthError(await revoke({ token: login.refresh_token }, { authorization: 'Basic !!!' }), 401, 'invalid_client');
    expectOAuthError(await revoke({ token: login.refresh_token, client_id: 'console' }), 401, 'invalid_client');
    expectOAuthError(await revoke({ token: login.refresh_token, client_id: 'gatehouse', client_secret: 'x' }), 401, 'invalid_client');
    expect((await me(login.access_token)).statusCode).toBe(200);
    expectEmpty200(await revoke({ token: login.refresh_token, client_id: 'console', client_secret: FIRST_SECRET }));
    expect((await me(login.access_token)).statusCode).toBe(401);
  });

  it('RFC 7009 §2.2.1: a missing token or a repeated parameter is invalid_request; unknown parameters are ignored', async () => {
    expectOAuthError(await revoke({ token_type_hint: 'refresh_token' }), 400, 'invalid_request');
    expectOAuthError(await revoke('token=a&token=b'), 400, 'invalid_request');
    expectOAuthError(await revoke('token=a&client_id=gatehouse&client_id=mobile'), 400, 'invalid_request');
    expectEmpty200(await revoke({ token: 'nope', foo: 'bar', token_type_hint: 'id_token' }));
    const json = await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: 'nope' } });
    expectEmpty200(json);
  });
});

describe('throttling (RFC 6749 §5.2)', () => {
  it('RFC 6749 §5.2: a throttled token or revocation request is 429 invalid_request with Retry-After and no-store (not slow_down)', async () => {
    const limited = await buildTestApp({ RATE_LIMIT: 'on' });
    try {
      for (const url of ['/oauth/token', '/oauth/revoke']) {
        const form = url === '/oauth/token' ? 'grant_type=password&username=x&password=y' : 'token=x';
        const send = () => limited.app.inject({ method: 'POST', url, remoteAddress: '198.51.100.44', headers: FORM, payload: form });
        // The token endpoint's per-account login throttle may answer 429 earlier, in the same shape.
        for (let i = 0; i < 20; i++) {
          const early = await send();
          if (url === '/oauth/revoke') expect(early.statusCode).toBe(200);
        }
        const res = await send();
        const body = expectOAuthError(res, 429, 'invalid_request', url);
        expect(String(body.error_description)).toMatch(/wait \d+ seconds/);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await limited.close();
    }
  });
});

describe('metadata (RFC 8414)', () => {
  it('RFC 8414: /.well-known/oauth-authorization-server lists exactly what is served', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(res.statusCode).toBe(200);
    const issuer = t.config.jwt.issuer;
    expect(res.json()).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['password', 'refresh_token', 'authorization_code', 'client_credentials'],
      // OAuth 2.1: the code flow only, never implicit or hybrid.
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      service_documentation: `${issuer}/docs`,
    });
    // Every endpoint it names answers.
    for (const url of ['/oauth/token', '/oauth/revoke', '/oauth/introspect'])
      expect((await t.app.inject({ method: 'POST', url, headers: FORM, payload: 'x=1' })).statusCode).not.toBe(404);
    for (const url of ['/oauth/authorize', '/oauth/userinfo', '/oauth/logout']) expect((await t.app.inject({ method: 'GET', url })).statusCode).not.toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode).not.toBe(404);
  });

  it('OIDC Discovery: /.well-known/openid-configuration is the same document, with RS256 ID tokens and no implicit flow', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc).toEqual((await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json());
    expect(doc).toMatchObject({
      userinfo_endpoint: `${t.config.jwt.issuer}/oauth/userinfo`,
      end_session_endpoint: `${t.config.jwt.issuer}/oauth/logout`,
      subject_types_supported: ['public'],
    });
    // RS256 always (OIDC-04), and the access tokens' algorithm for clients registered for it.
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256', 'EdDSA']);
    expect(doc.response_types_supported).not.toContain('token');
  });
});
