import { createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash } from '../../src/core/oauth/id-tokens.js';
import { buildTestApp, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { basic } from '../helpers/clients.js';
import { authorize, cookieFrom, payloadOf, pkce, redeem, registerClient, type RegisteredClient } from '../helpers/oidc.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
let t: TestApp;
let admin: TestUser;
let alice: TestUser;
let spa: RegisteredClient; // third-party, public
let web: RegisteredClient; // third-party, confidential
let own: RegisteredClient; // first-party, confidential
let machine: RegisteredClient; // client_credentials

beforeAll(async () => {
  t = await buildTestApp();
  admin = await signUp(t, { admin: true });
  alice = await signUp(t);
  spa = await registerClient(t, admin, {
    name: 'Photo app',
    type: 'public',
    redirect_uris: ['https://photos.example/cb'],
    post_logout_redirect_uris: ['https://photos.example/bye'],
  });
  web = await registerClient(t, admin, {
    name: 'Web app',
    type: 'confidential',
    redirect_uris: ['https://web.example/cb', 'http://localhost:8080/cb'],
    scopes: ['offline_access'],
  });
  own = await registerClient(t, admin, { name: 'Our portal', type: 'confidential', first_party: true, redirect_uris: ['https://portal.example/cb'] });
  machine = await registerClient(t, admin, { name: 'Billing job', type: 'confidential', grant_types: ['client_credentials'], scopes: ['invoices.read', 'invoices.write'] });
});
afterAll(() => t.close());

const token = (payload: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, ...headers }, payload });
const introspect = (client: RegisteredClient, tokenValue: string) =>
  t.app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    headers: { ...FORM, authorization: basic(client.id, client.secret!) },
    payload: `token=${encodeURIComponent(tokenValue)}`,
  });
const authorizeUrl = (client: RegisteredClient, params: Record<string, string>) =>
  `/oauth/authorize?${new URLSearchParams({ client_id: client.id, redirect_uri: client.redirectUri, response_type: 'code', scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's', ...params })}`;

describe('clients: admin API (OIDC-05)', () => {
  it('OIDC-05: a confidential client gets a 256-bit secret once; only its hash is stored', async () => {
    expect(web.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(spa.secret).toBeNull();
    const stored = await t.storage.clients.findById(web.id);
    expect(JSON.stringify(stored)).not.toContain(web.secret);
    const view = await t.app.inject({ method: 'GET', url: `/admin/clients/${web.id}`, headers: admin.auth });
    expect(view.json()).toMatchObject({ id: web.id, type: 'confidential', active_secrets: 1, grant_types: ['authorization_code', 'refresh_token'] });
    expect(view.body).not.toContain('secret_hashes');
    const list = await t.app.inject({ method: 'GET', url: '/admin/clients?limit=2', headers: admin.auth });
    expect(list.json().items).toHaveLength(2);
    expect(list.json().next_cursor).not.toBeNull();
  });

  it('OIDC-05: rotation keeps two active secrets; a third rotation drops the oldest; keep_previous=false ends the rest', async () => {
    const c = await registerClient(t, admin, { name: 'Rotating', type: 'confidential', grant_types: ['client_credentials'] });
    const cc = (secret: string) => token('grant_type=client_credentials', { authorization: basic(c.id, secret) });
    const second = (await t.app.inject({ method: 'POST', url: `/admin/clients/${c.id}/secret`, headers: admin.auth })).json();
    expect(second.client.active_secrets).toBe(2);
    expect((await cc(c.secret!)).statusCode).toBe(200);
    expect((await cc(second.client_secret)).statusCode).toBe(200);
    const third = (await t.app.inject({ method: 'POST', url: `/admin/clients/${c.id}/secret`, headers: admin.auth, payload: {} })).json();
    expect((await cc(c.secret!)).statusCode).toBe(401);
    expect((await cc(second.client_secret)).statusCode).toBe(200);
    const fourth = (await t.app.inject({ method: 'POST', url: `/admin/clients/${c.id}/secret`, headers: admin.auth, payload: { keep_previous: false } })).json();
    expect(fourth.client.active_secrets).toBe(1);
    expect((await cc(third.client_secret)).statusCode).toBe(401);
    expect((await cc(fourth.client_secret)).statusCode).toBe(200);
    const audit = await t.services.audit.list({ limit: 10, type: 'client.secret_rotated' });
    expect(audit.items.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(audit.items)).not.toContain(fourth.client_secret);
  });

  it('registration refuses bad redirect URIs and impossible grants, listing every problem; non-admins get 403', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: admin.auth,
      payload: {
        name: 'Bad',
        type: 'public',
        grant_types: ['authorization_code', 'client_credentials', 'password'],
        redirect_uris: ['http://evil.example/cb', 'https://a.example/cb#x', 'javascript:alert(1)'],
      },
    });
    expect(res.statusCode).toBe(400);
    const fields = (res.json().errors as { field: string }[]).map((e) => e.field);
    expect(fields.filter((f) => f === 'redirect_uris')).toHaveLength(3);
    expect(fields.filter((f) => f === 'grant_types')).toHaveLength(2);
    expect((await t.app.inject({ method: 'GET', url: '/admin/clients', headers: alice.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/admin/clients', headers: alice.auth, payload: { name: 'x', type: 'public' } })).statusCode).toBe(403);
  });

  it('PATCH changes a client, DELETE removes it (its credentials stop working)', async () => {
    const c = await registerClient(t, admin, { name: 'Temp', type: 'confidential', grant_types: ['client_credentials'] });
    const patched = await t.app.inject({ method: 'PATCH', url: `/admin/clients/${c.id}`, headers: admin.auth, payload: { name: 'Temporary', scopes: ['a.b'] } });
    expect(patched.json()).toMatchObject({ name: 'Temporary', scopes: ['a.b'] });
    expect((await t.app.inject({ method: 'DELETE', url: `/admin/clients/${c.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await token('grant_type=client_credentials', { authorization: basic(c.id, c.secret!) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: `/admin/clients/${c.id}`, headers: admin.auth })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/admin/clients/gatehouse', headers: admin.auth })).statusCode).toBe(404);
  });
});

describe('authorization code flow', () => {
  it('OIDC-04: consent, code, tokens: an RS256 ID token from its own key with iss, aud, exp, iat, auth_time, nonce, amr, at_hash', async () => {
    const flow = await authorize(t, spa, alice, { scope: 'openid profile email', nonce: 'nonce-42', state: 'state-7' });
    expect(flow.url.origin + flow.url.pathname).toBe(spa.redirectUri);
    expect(flow.url.searchParams.get('state')).toBe('state-7');
    expect(flow.url.searchParams.get('iss')).toBe(t.config.jwt.issuer);
    const res = await redeem(t, spa, flow.url.searchParams.get('code')!, flow.verifier);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    // A third party without offline_access gets no refresh token.
    expect(body.refresh_token).toBeUndefined();
    expect(body.user).toBeUndefined();
    expect(body.scope).toBe('openid profile email');
    const [headerPart] = body.id_token.split('.');
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString());
    expect(header.alg).toBe('RS256');
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as { kid: string; alg: string }[];
    const key = jwks.find((k) => k.kid === header.kid)!;
    expect(key.alg).toBe('RS256');
    expect(t.services.tokens.keyRing.verificationKeys.has(header.kid)).toBe(false);
    const [h, p, s] = body.id_token.split('.');
    expect(verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: key as never, format: 'jwk' }), Buffer.from(s, 'base64url'))).toBe(true);
    const claims = payloadOf(body.id_token);
    const now = Math.floor(t.clock.now() / 1000);
    expect(claims).toMatchObject({ iss: t.config.jwt.issuer, sub: alice.id, aud: spa.id, nonce: 'nonce-42', amr: ['pwd'], at_hash: accessTokenHash(body.access_token) });
    expect(claims.email).toBe(alice.email);
    expect(claims.preferred_username).toBe(alice.username);
    expect(claims.iat).toBe(now);
    expect(claims.exp).toBeGreaterThan(now);
    expect(claims.auth_time).toBeLessThanOrEqual(now);
    // The access token keeps JWT_ALGORITHM and carries client_id and scope.
    expect(payloadOf(body.access_token)).toMatchObject({ client_id: spa.id, scope: 'openid profile email', sub: alice.id });
    const info = await t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
    expect(info.json()).toEqual({ sub: alice.id, preferred_username: alice.username, updated_at: expect.any(Number), email: alice.email, email_verified: false });
  });

  it("a client registered for the access tokens' algorithm gets its ID tokens signed with it; anything else is refused", async () => {
    const ed = await registerClient(t, admin, { name: 'Ed', type: 'public', first_party: true, redirect_uris: ['https://ed.example/cb'], id_token_signed_response_alg: 'EdDSA' });
    const flow = await authorize(t, ed, alice, { scope: 'openid' });
    const idToken = (await redeem(t, ed, flow.url.searchParams.get('code')!, flow.verifier)).json().id_token as string;
    expect(JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
    // Never accepted as an access token, though the key is the same.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${idToken}` } })).statusCode).toBe(401);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: admin.auth,
      payload: { name: 'x', type: 'public', redirect_uris: ['https://x.example/cb'], id_token_signed_response_alg: 'none' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('OIDC-07: consent is remembered per scope set: the same scopes go straight through, more scopes ask again, prompt=consent asks again', async () => {
    const bob = await signUp(t);
    const first = await authorize(t, spa, bob, { scope: 'openid email' });
    expect(first.cookie).toMatch(/^gatehouse_op=/);
    // Signed in at the provider (the cookie), consent given: no page at all.
    const again = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, { scope: 'openid' }), headers: { cookie: first.cookie! } });
    expect(new URL(String(again.headers.location)).searchParams.get('code')).toBeTruthy();
    for (const params of [{ scope: 'openid email profile' }, { scope: 'openid', prompt: 'consent' }] as Record<string, string>[]) {
      const res = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, params), headers: { cookie: first.cookie! } });
      const request = new URL(String(res.headers.location)).searchParams.get('request')!;
      expect(request, JSON.stringify(params)).toBeTruthy();
      const step = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${request}`, headers: bob.auth });
      expect(step.json()).toMatchObject({ action: 'consent', client: { id: spa.id, name: 'Photo app' } });
    }
    // The account page lists the consent, and withdrawing it ends the client's sessions.
    const code = (await authorize(t, spa, bob, { scope: 'openid email' })).url;
    expect(code.searchParams.get('code')).toBeTruthy();
    const listed = await t.app.inject({ method: 'GET', url: '/auth/consents', headers: bob.auth });
    expect(listed.json().items).toEqual([expect.objectContaining({ client_id: spa.id, client_name: 'Photo app', scope: 'email openid' })]);
    const flow = await authorize(t, spa, bob, { scope: 'openid' });
    const tokens = (await redeem(t, spa, flow.url.searchParams.get('code')!, flow.verifier)).json();
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/consents/${spa.id}`, headers: bob.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/consents/${spa.id}`, headers: bob.auth })).statusCode).toBe(404);
  });

  it('first-party clients skip consent; offline_access (or first-party) brings a refresh token bound to the client', async () => {
    const flow = await authorize(t, own, alice, { scope: 'openid' });
    expect(flow.url.searchParams.get('code')).toBeTruthy();
    const body = (await redeem(t, own, flow.url.searchParams.get('code')!, flow.verifier)).json();
    expect(body.refresh_token).toBeTruthy();
    const refreshed = await token(`grant_type=refresh_token&refresh_token=${body.refresh_token}`, { authorization: basic(own.id, own.secret!) });
    expect(refreshed.statusCode).toBe(200);
    // SES-08: another client cannot use it.
    expect((await token(`grant_type=refresh_token&refresh_token=${refreshed.json().refresh_token}`, { authorization: basic(web.id, web.secret!) })).json().error).toBe(
      'invalid_grant',
    );
    const offline = await authorize(t, web, alice, { scope: 'openid offline_access' });
    const third = (await redeem(t, web, offline.url.searchParams.get('code')!, offline.verifier)).json();
    expect(third.refresh_token).toBeTruthy();
    const next = await token(`grant_type=refresh_token&refresh_token=${third.refresh_token}`, { authorization: basic(web.id, web.secret!) });
    expect(next.json()).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access' });
    expect(next.json().user).toBeUndefined();
  });

  it('prompt=login and max_age ask the hosted pages for a fresh sign-in', async () => {
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      t.clock.advance(2000);
      const res = await t.app.inject({ method: 'GET', url: authorizeUrl(own, extra) });
      const request = new URL(String(res.headers.location)).searchParams.get('request')!;
      const step = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${request}`, headers: alice.auth });
      expect(step.json(), JSON.stringify(extra)).toEqual({ action: 'login' });
    }
    // login_hint is handed to the sign-in page.
    const hinted = await t.app.inject({ method: 'GET', url: authorizeUrl(own, { login_hint: 'alice@example.com' }) });
    expect(new URL(String(hinted.headers.location)).searchParams.get('login_hint')).toBe('alice@example.com');
  });

  it("only the hosted pages' own sign-in can continue a request, not another client's token", async () => {
    const flow = await authorize(t, own, alice, { scope: 'openid' });
    const third = (await redeem(t, own, flow.url.searchParams.get('code')!, flow.verifier)).json();
    const res = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, {}) });
    const request = new URL(String(res.headers.location)).searchParams.get('request')!;
    const step = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${request}`, headers: { authorization: `Bearer ${third.access_token}` } });
    expect(step.statusCode).toBe(403);
  });
});

describe('negative matrix', () => {
  it('OIDC-02: unknown client or a redirect URI not exactly registered: a local error page, never a redirect', async () => {
    for (const params of [
      { client_id: 'nope' },
      { redirect_uri: 'https://photos.example/cb/' },
      { redirect_uri: 'https://photos.example/cb?x=1' },
      { redirect_uri: 'https://PHOTOS.example/cb' },
      { redirect_uri: 'https://photos.example.evil.example/cb' },
      { redirect_uri: '' },
      { client_id: 'gatehouse' },
    ] as Record<string, string>[]) {
      const res = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, params) });
      expect(res.statusCode, JSON.stringify(params)).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    }
    const twice = await t.app.inject({ method: 'GET', url: `${authorizeUrl(spa, {})}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}` });
    expect(twice.statusCode).toBe(400);
  });

  it('OIDC-01: missing or plain PKCE, implicit and hybrid responses go back as RFC 6749 §4.1.2.1 errors with state', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ code_challenge: '' }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ response_type: 'code id_token' }, 'unsupported_response_type'],
      [{ scope: 'openid\u0001' }, 'invalid_scope'],
      [{ prompt: 'none login' }, 'invalid_request'],
      [{ request: 'eyJ' }, 'request_not_supported'],
    ];
    for (const [params, error] of cases) {
      const url = authorizeUrl(spa, params)
        .replace(/code_challenge=&/, '')
        .replace(/code_challenge_method=&/, '');
      const res = await t.app.inject({ method: 'GET', url: params.code_challenge === '' ? url.replace(/code_challenge=[^&]*&?/, '') : url });
      expect(res.statusCode, JSON.stringify(params)).toBe(303);
      const location = new URL(String(res.headers.location));
      expect(location.origin + location.pathname).toBe(spa.redirectUri);
      expect(location.searchParams.get('error'), JSON.stringify(params)).toBe(error);
      expect(location.searchParams.get('state')).toBe('s');
      expect(location.searchParams.get('code')).toBeNull();
    }
    const machineOnly = await t.app.inject({ method: 'GET', url: authorizeUrl({ ...machine, redirectUri: 'https://x.example/cb' }, {}) });
    expect(machineOnly.statusCode).toBe(400);
  });

  it('OIDC-07: prompt=none without a session is login_required; without consent consent_required; consent denied is access_denied', async () => {
    const none = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, { prompt: 'none' }) });
    expect(new URL(String(none.headers.location)).searchParams.get('error')).toBe('login_required');
    const carol = await signUp(t);
    const denied = await authorize(t, spa, carol, { approve: false });
    expect(denied.url.searchParams.get('error')).toBe('access_denied');
    expect(denied.url.searchParams.get('code')).toBeNull();
    const signedIn = await authorize(t, own, carol, { scope: 'openid' });
    const noConsent = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, { prompt: 'none' }), headers: { cookie: signedIn.cookie! } });
    expect(new URL(String(noConsent.headers.location)).searchParams.get('error')).toBe('consent_required');
    const silent = await t.app.inject({ method: 'GET', url: authorizeUrl(own, { prompt: 'none' }), headers: { cookie: signedIn.cookie! } });
    expect(new URL(String(silent.headers.location)).searchParams.get('code')).toBeTruthy();
    // A forged or foreign cookie is no sign-in.
    const forged = await t.app.inject({ method: 'GET', url: authorizeUrl(own, { prompt: 'none' }), headers: { cookie: `${signedIn.cookie!.slice(0, -3)}abc` } });
    expect(new URL(String(forged.headers.location)).searchParams.get('error')).toBe('login_required');
  });

  it('OIDC-03: wrong verifier, another redirect URI, another client, after 60 s: invalid_grant', async () => {
    const flow = await authorize(t, web, alice, { scope: 'openid' });
    const code = flow.url.searchParams.get('code')!;
    expect((await redeem(t, web, code, pkce().verifier)).json().error).toBe('invalid_grant');
    expect((await redeem(t, web, code, flow.verifier, { redirect_uri: 'http://localhost:8080/cb' })).json().error).toBe('invalid_grant');
    expect((await redeem(t, own, code, flow.verifier, { redirect_uri: web.redirectUri })).json().error).toBe('invalid_grant');
    expect((await redeem(t, web, code, flow.verifier, { code_verifier: '' })).json().error).toBe('invalid_grant');
    // None of those spent it.
    expect((await redeem(t, web, code, flow.verifier)).statusCode).toBe(200);
    const late = await authorize(t, web, alice, { scope: 'openid' });
    t.clock.advance(61_000);
    expect((await redeem(t, web, late.url.searchParams.get('code')!, late.verifier)).json().error).toBe('invalid_grant');
  });

  it('OIDC-03: a replayed code is refused and the tokens its first use gave are revoked (audited)', async () => {
    const flow = await authorize(t, own, alice, { scope: 'openid' });
    const code = flow.url.searchParams.get('code')!;
    const first = (await redeem(t, own, code, flow.verifier)).json();
    const userinfo = () => t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${first.access_token}` } });
    expect((await userinfo()).statusCode).toBe(200);
    const replay = await redeem(t, own, code, flow.verifier);
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error).toBe('invalid_grant');
    expect((await userinfo()).statusCode).toBe(401);
    expect((await token(`grant_type=refresh_token&refresh_token=${first.refresh_token}`, { authorization: basic(own.id, own.secret!) })).json().error).toBe('invalid_grant');
    expect((await t.services.audit.list({ limit: 1, type: 'oauth.code_replayed' })).items[0]?.details).toMatchObject({ client_id: own.id, revoked: true });
  });

  it('OIDC-05: a bad client secret is invalid_client (401 with a Basic challenge); a confidential client cannot skip authentication', async () => {
    const flow = await authorize(t, web, alice, { scope: 'openid' });
    const code = flow.url.searchParams.get('code')!;
    const bad = await redeem(t, { ...web, secret: 'x'.repeat(43) }, code, flow.verifier);
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error).toBe('invalid_client');
    expect(bad.headers['www-authenticate']).toMatch(/^Basic/);
    expect((await redeem(t, { ...web, secret: null }, code, flow.verifier)).json().error).toBe('invalid_client');
  });
});

describe('introspection (OIDC-06), client credentials, logout', () => {
  it('OIDC-06: a client sees its own live tokens; another client, and revoked tokens, get only active:false; public clients cannot ask', async () => {
    const flow = await authorize(t, web, alice, { scope: 'openid offline_access' });
    const tokens = (await redeem(t, web, flow.url.searchParams.get('code')!, flow.verifier)).json();
    const active = (await introspect(web, tokens.access_token)).json();
    expect(active).toMatchObject({ active: true, client_id: web.id, sub: alice.id, scope: 'openid offline_access', token_type: 'Bearer' });
    expect((await introspect(web, tokens.refresh_token)).json()).toMatchObject({ active: true, token_type: 'refresh_token', client_id: web.id });
    expect((await introspect(machine, tokens.access_token)).json()).toEqual({ active: false });
    // First-party confidential clients (our own back ends) see every token.
    expect((await introspect(own, tokens.access_token)).json().active).toBe(true);
    const pub = await t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: FORM, payload: `token=${tokens.access_token}&client_id=${spa.id}` });
    expect(pub.statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization: basic(web.id, 'wrong') }, payload: 'token=x' })).statusCode).toBe(
      401,
    );
    await t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { ...FORM, authorization: basic(web.id, web.secret!) }, payload: `token=${tokens.refresh_token}` });
    expect((await introspect(web, tokens.access_token)).json()).toEqual({ active: false });
    expect((await introspect(web, tokens.refresh_token)).json()).toEqual({ active: false });
    expect((await introspect(web, 'garbage')).json()).toEqual({ active: false });
  });

  it('client_credentials: sub is the client, scope within its registered scopes (invalid_scope otherwise), no refresh token, audited', async () => {
    const auth = { authorization: basic(machine.id, machine.secret!) };
    const all = await token('grant_type=client_credentials', auth);
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'invoices.read invoices.write' });
    const some = (await token('grant_type=client_credentials&scope=invoices.read', auth)).json();
    expect(payloadOf(some.access_token)).toMatchObject({ sub: machine.id, client_id: machine.id, scope: 'invoices.read', role: 'client' });
    expect((await token('grant_type=client_credentials&scope=invoices.read%20admin', auth)).json().error).toBe('invalid_scope');
    expect((await token(`grant_type=client_credentials&client_id=${spa.id}`)).json().error).toBe('unauthorized_client');
    expect((await token('grant_type=client_credentials', { authorization: basic(web.id, web.secret!) })).json().error).toBe('unauthorized_client');
    // Not a user: Gatehouse's own API refuses it; introspection knows it.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${some.access_token}` } })).statusCode).toBe(401);
    expect((await introspect(machine, some.access_token)).json()).toMatchObject({ active: true, sub: machine.id, client_id: machine.id });
    const issued = await t.services.audit.list({ limit: 5, type: 'token.issued' });
    expect(issued.items[0]?.details).toMatchObject({ client_id: machine.id, grant: 'client_credentials', scope: 'invoices.read' });
  });

  it('RP-initiated logout: id_token_hint ends the sign-in and the client sessions, then back to a registered URI with state only', async () => {
    const erin = await signUp(t);
    const flow = await authorize(t, spa, erin, { scope: 'openid' });
    const tokens = (await redeem(t, spa, flow.url.searchParams.get('code')!, flow.verifier)).json();
    const unregistered = await t.app.inject({
      method: 'GET',
      url: `/oauth/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    });
    expect(unregistered.statusCode).toBe(200);
    expect(unregistered.headers.location).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: erin.auth })).statusCode).toBe(401);
    const dave = await signUp(t);
    const flow2 = await authorize(t, spa, dave, { scope: 'openid' });
    const tokens2 = (await redeem(t, spa, flow2.url.searchParams.get('code')!, flow2.verifier)).json();
    const out = await t.app.inject({
      method: 'GET',
      url: `/oauth/logout?id_token_hint=${tokens2.id_token}&post_logout_redirect_uri=${encodeURIComponent('https://photos.example/bye')}&state=xyz`,
      headers: { cookie: flow2.cookie! },
    });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('https://photos.example/bye?state=xyz');
    expect(cookieFrom(out, 'gatehouse_op')).toBe('gatehouse_op=');
    expect((await t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${tokens2.access_token}` } })).statusCode).toBe(401);
    // The hosted pages' sign-in (the ID token's sid) ended too: the cookie no longer signs anyone in.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: dave.auth })).statusCode).toBe(401);
    const none = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, { prompt: 'none' }), headers: { cookie: flow2.cookie! } });
    expect(new URL(String(none.headers.location)).searchParams.get('error')).toBe('login_required');
    expect((await t.app.inject({ method: 'GET', url: '/oauth/logout?id_token_hint=a.b.c' })).statusCode).toBe(400);
  });

  it('RP-initiated logout without an ID token asks first: another site cannot sign the browser out of the provider (logout CSRF)', async () => {
    const fay = await signUp(t);
    const flow = await authorize(t, spa, fay, { scope: 'openid' });
    const signedIn = { cookie: flow.cookie! };
    const stillSignedIn = async () => {
      const again = await t.app.inject({ method: 'GET', url: authorizeUrl(spa, { prompt: 'none' }), headers: signedIn });
      return new URL(String(again.headers.location)).searchParams.get('code') !== null;
    };

    // A cross-site <img src="/oauth/logout">: a question, nothing cleared.
    const asked = await t.app.inject({ method: 'GET', url: '/oauth/logout', headers: { ...signedIn, 'sec-fetch-site': 'cross-site' } });
    expect(asked.statusCode).toBe(200);
    expect(asked.headers['set-cookie']).toBeUndefined();
    expect(asked.body).toContain('<form method="post" action="/oauth/logout">');
    expect(asked.headers['content-security-policy']).toContain("form-action 'self'");
    expect(asked.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(await stillSignedIn()).toBe(true);

    // A form another site submits, or one that names no origin at all: refused, nothing cleared.
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, {}]) {
      const forged = await t.app.inject({ method: 'POST', url: '/oauth/logout', headers: { ...signedIn, ...form, ...headers }, payload: '' });
      expect(forged.statusCode).toBe(403);
      expect(forged.json().code).toBe('ERR_FORBIDDEN_ORIGIN');
      expect(forged.headers['set-cookie']).toBeUndefined();
    }
    expect(await stillSignedIn()).toBe(true);

    // The user's own answer, from our page.
    for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { origin: new URL(t.config.publicUrl).origin }]) {
      const out = await t.app.inject({ method: 'POST', url: '/oauth/logout', headers: { ...signedIn, ...form, ...headers }, payload: '' });
      expect(out.statusCode).toBe(200);
      expect(cookieFrom(out, 'gatehouse_op')).toBe('gatehouse_op=');
    }
  });
});
