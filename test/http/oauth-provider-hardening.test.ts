import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/core/auth/refresh-tokens.js';
import type { AppError } from '../../src/core/errors.js';
import { OAuthTokenService } from '../../src/core/oauth/token-service.js';
import type { AuthorizationStore } from '../../src/core/ports.js';
import { buildTestApp, PASSWORD, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { basic } from '../helpers/clients.js';
import { authorize, payloadOf, redeem, registerClient, type RegisteredClient } from '../helpers/oidc.js';

let t: TestApp;
let admin: TestUser;
let alice: TestUser;
let web: RegisteredClient; // third-party, confidential
let own: RegisteredClient; // first-party, confidential

beforeAll(async () => {
  t = await buildTestApp();
  admin = await signUp(t, { admin: true });
  alice = await signUp(t);
  web = await registerClient(t, admin, { name: 'Web app', type: 'confidential', redirect_uris: ['https://web.example/cb'] });
  own = await registerClient(t, admin, { name: 'Our portal', type: 'confidential', first_party: true, redirect_uris: ['https://portal.example/cb'] });
});
afterAll(() => t.close());

/** Tokens `client` gets for `user` through the authorization code flow. */
async function tokensFor(client: RegisteredClient, user: TestUser, scope = 'openid'): Promise<{ access_token: string; refresh_token?: string }> {
  const flow = await authorize(t, client, user, { scope });
  const res = await redeem(t, client, flow.url.searchParams.get('code')!, flow.verifier);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('third-party access tokens on Gatehouse routes', () => {
  it("AC-03: a third-party client's token (a user's or an admin's) gets 403 on /auth/me, /users, /items and /admin/clients", async () => {
    const user = await tokensFor(web, alice);
    const root = await tokensFor(web, admin);
    const attempts = [
      { method: 'GET', url: '/auth/me', token: user.access_token },
      { method: 'PATCH', url: `/users/${alice.id}`, token: user.access_token, payload: { email: 'taken-over@example.com' } },
      { method: 'GET', url: '/users', token: root.access_token },
      { method: 'GET', url: '/items', token: user.access_token },
      { method: 'GET', url: '/admin/clients', token: root.access_token },
      {
        method: 'POST',
        url: '/admin/clients',
        token: root.access_token,
        payload: { name: 'Backdoor', type: 'public', first_party: true, redirect_uris: ['https://evil.example/cb'] },
      },
    ] as const;
    for (const { method, url, token, ...rest } of attempts) {
      const res = await t.app.inject({ method, url, headers: bearer(token), ...('payload' in rest ? { payload: rest.payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(problemOf(res).code).toBe('ERR_THIRD_PARTY_TOKEN');
    }
    // Nothing changed: the e-mail is the same, no client was registered.
    const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth });
    expect(me.json().email).toBe(alice.email);
    const clients = (await t.app.inject({ method: 'GET', url: '/admin/clients?limit=100', headers: admin.auth })).json().items as { name: string }[];
    expect(clients.map((c) => c.name)).not.toContain('Backdoor');
  });

  it('AC-03: the refusal holds on the cached path too (a second request answered from memory)', async () => {
    const user = await tokensFor(web, alice);
    for (let i = 0; i < 2; i++) expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(user.access_token) })).statusCode).toBe(403);
  });

  it("a first-party registered client's token works on Gatehouse routes; Gatehouse's own sign-in too", async () => {
    const portal = await tokensFor(own, alice);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(portal.access_token) })).json().id).toBe(alice.id);
    const adminPortal = await tokensFor(own, admin);
    expect((await t.app.inject({ method: 'GET', url: '/admin/clients', headers: bearer(adminPortal.access_token) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth })).statusCode).toBe(200);
  });

  it('OIDC-04: userinfo still answers a third-party token', async () => {
    const user = await tokensFor(web, alice, 'openid email');
    const res = await t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: bearer(user.access_token) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ sub: alice.id, email: alice.email });
  });

  it('AC-03: a client made first-party later is accepted at once, and made third-party again refused at once (cache dropped)', async () => {
    const app = await registerClient(t, admin, { name: 'Promoted', type: 'confidential', redirect_uris: ['https://promoted.example/cb'] });
    const user = await tokensFor(app, alice);
    const me = () => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(user.access_token) });
    expect((await me()).statusCode).toBe(403);
    const patch = (firstParty: boolean) => t.app.inject({ method: 'PATCH', url: `/admin/clients/${app.id}`, headers: admin.auth, payload: { first_party: firstParty } });
    expect((await patch(true)).statusCode).toBe(200);
    expect((await me()).statusCode).toBe(200);
    expect((await patch(false)).statusCode).toBe(200);
    expect((await me()).statusCode).toBe(403);
  });
});

describe('authorization code replay racing its first redemption', () => {
  it('OIDC-03: a replay that lands between marking the code used and starting the session still revokes what the code gave', async () => {
    const flow = await authorize(t, web, alice, { scope: 'openid' });
    const code = flow.url.searchParams.get('code')!;
    const client = (await t.services.clients.find(web.id))!;
    const real = t.storage.authorizations;
    const race: { replay?: Promise<unknown> } = {};
    // The real store; only the order of events is forced: the replay runs right after the first
    // redemption won the compare-and-swap, before that redemption started its session.
    const racingStore: AuthorizationStore = Object.assign(Object.create(real) as AuthorizationStore, {
      redeemCode: async (id: string, sessionId: string, at: number) => {
        const won = await real.redeemCode(id, sessionId, at);
        if (won && !race.replay) {
          race.replay = service.redeemCode(client, code, web.redirectUri, flow.verifier, {}).catch((error: unknown) => error);
          await race.replay;
        }
        return won;
      },
    });
    const s = t.services;
    const service = new OAuthTokenService(racingStore, t.storage.users, s.sessions, s.tokens, s.oauth.idTokens, s.audit, t.clock);
    const first = await service.redeemCode(client, code, web.redirectUri, flow.verifier, {}).catch((error: unknown) => error);
    expect((await race.replay) as AppError).toMatchObject({ code: 'ERR_OAUTH_INVALID_GRANT' });
    expect(first as AppError).toMatchObject({ code: 'ERR_OAUTH_INVALID_GRANT' });
    const stored = (await real.findCode(hashSecret(code)))!;
    expect(stored.replayedAt).not.toBeNull();
    const session = await t.storage.sessions.findById(stored.sessionId!);
    expect(session?.revokedAt).not.toBeNull();
    const audit = await t.services.audit.list({ limit: 1, type: 'oauth.code_replayed' });
    expect(audit.items[0]?.details).toMatchObject({ client_id: web.id, session_id: stored.sessionId, revoked: true });
  });
});

describe('client-credentials tokens: revocation and deleted clients', () => {
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const ccToken = async (client: RegisteredClient): Promise<string> => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(client.id, client.secret!) },
      payload: 'grant_type=client_credentials',
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().access_token;
  };
  const introspect = (caller: RegisteredClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization: basic(caller.id, caller.secret!) }, payload: `token=${token}` });
  const revoke = (caller: RegisteredClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { ...FORM, authorization: basic(caller.id, caller.secret!) }, payload: `token=${token}` });

  it('OIDC-06: a client-credentials token revoked by its own client is inactive at once; another client cannot revoke it', async () => {
    const job = await registerClient(t, admin, { name: 'Job', type: 'confidential', grant_types: ['client_credentials'], scopes: ['a.read'] });
    const other = await registerClient(t, admin, { name: 'Other job', type: 'confidential', grant_types: ['client_credentials'] });
    const token = await ccToken(job);
    const kept = await ccToken(job);
    expect((await introspect(job, token)).json()).toMatchObject({ active: true, client_id: job.id });
    expect((await revoke(other, token)).statusCode).toBe(200);
    expect((await introspect(job, token)).json().active).toBe(true);
    expect((await revoke(job, token)).statusCode).toBe(200);
    expect((await introspect(job, token)).json()).toEqual({ active: false });
    // Only that token: the client's other tokens stay active.
    expect((await introspect(job, kept)).json().active).toBe(true);
    const audit = await t.services.audit.list({ limit: 1, type: 'token.revoked' });
    expect(audit.items[0]?.details).toMatchObject({ client_id: job.id });
    // Still refused on Gatehouse's own routes, as before.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(kept) })).statusCode).toBe(401);
  });

  it("OIDC-06: a deleted client's client-credentials tokens are inactive", async () => {
    const job = await registerClient(t, admin, { name: 'Doomed job', type: 'confidential', grant_types: ['client_credentials'] });
    const token = await ccToken(job);
    expect((await introspect(own, token)).json().active).toBe(true);
    expect((await t.app.inject({ method: 'DELETE', url: `/admin/clients/${job.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await introspect(own, token)).json()).toEqual({ active: false });
  });
});

describe('client deletion and authorization requests', () => {
  const authorizeUrl = (client: RegisteredClient, extra: Record<string, string>) =>
    `/oauth/authorize?${new URLSearchParams({ client_id: client.id, redirect_uri: client.redirectUri, response_type: 'code', scope: 'openid', code_challenge: 'c'.repeat(43), code_challenge_method: 'S256', state: 's', ...extra })}`;
  const parkedRequest = async (client: RegisteredClient, extra: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'GET', url: authorizeUrl(client, extra) });
    expect(res.statusCode, res.body).toBe(303);
    return new URL(String(res.headers.location)).searchParams.get('request')!;
  };

  it("deleting a client ends its users' sessions at once (audited with the count)", async () => {
    const portal = await registerClient(t, admin, { name: 'Short-lived portal', type: 'confidential', first_party: true, redirect_uris: ['https://short.example/cb'] });
    const first = await tokensFor(portal, alice);
    const second = await tokensFor(portal, admin);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(first.access_token) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/admin/clients/${portal.id}`, headers: admin.auth })).statusCode).toBe(204);
    for (const tokens of [first, second]) {
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(401);
      expect(await t.services.sessions.describeToken(tokens.refresh_token!)).toBeNull();
    }
    // The sessions of other clients are untouched.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth })).statusCode).toBe(200);
    const audit = await t.services.audit.list({ limit: 1, type: 'client.deleted' });
    expect(audit.items[0]?.details).toMatchObject({ client_id: portal.id, sessions: 2 });
  });

  it('OIDC-03: two continuations racing for one parked request get one code: the later read of the request does not count', async () => {
    const id = await parkedRequest(own);
    const claims = payloadOf(alice.accessToken) as { sid: string; auth_time?: number };
    const user = { userId: alice.id, sessionId: claims.sid, clientId: 'gatehouse', authTime: t.clock.now(), amr: ['pwd'] };
    const service = t.services.oauth.authorization;
    // The second continuation read the request before the first took it...
    const seenBySecond = (await t.storage.authorizations.findRequest(id))!;
    const first = await service.continue(id, user);
    expect(first.action).toBe('redirect');
    // ...and reaches issuing its code only now: it must not get one.
    const issueCode = (service as unknown as { issueCode: (...args: unknown[]) => Promise<string> }).issueCode.bind(service);
    const browser = { sessionId: user.sessionId, userId: user.userId, authTime: user.authTime, amr: user.amr };
    await expect(issueCode(seenBySecond, browser, true)).rejects.toMatchObject({ code: 'ERR_OAUTH_REQUEST_NOT_FOUND' });
  });

  it('OIDC-07: max_age=0 is satisfied by the sign-in made for this request (no endless sign-in loop); prompt=login still asks first', async () => {
    for (const extra of [{ max_age: '0' }, { prompt: 'login' }] as Record<string, string>[]) {
      t.clock.advance(5000);
      const id = await parkedRequest(own, extra);
      const before = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${id}`, headers: alice.auth });
      expect(before.json(), JSON.stringify(extra)).toEqual({ action: 'login' });
      const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: alice.username, password: PASSWORD } });
      expect(login.statusCode).toBe(200);
      t.clock.advance(700);
      const after = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${id}`, headers: bearer(login.json().access_token) });
      expect(after.json().action, JSON.stringify(extra)).toBe('redirect');
    }
  });
});

describe('offline_access', () => {
  it('OIDC-07: a third-party client not registered for offline_access gets neither the scope nor a refresh token; one registered for it gets both', async () => {
    const flow = await authorize(t, web, alice, { scope: 'openid offline_access' });
    const res = (await redeem(t, web, flow.url.searchParams.get('code')!, flow.verifier)).json();
    expect(res.scope).toBe('openid');
    expect(res.refresh_token).toBeUndefined();
    const offline = await registerClient(t, admin, { name: 'Offline app', type: 'confidential', redirect_uris: ['https://offline.example/cb'], scopes: ['offline_access'] });
    const granted = await tokensFor(offline, alice, 'openid offline_access');
    expect(granted.refresh_token).toBeTruthy();
  });
});
