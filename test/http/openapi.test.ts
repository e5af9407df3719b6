import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { PASSWORD, buildTestApp, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { OpenApiContract } from '../helpers/openapi-contract.js';
import { lastMail, tokenIn } from '../helpers/mail.js';
import { RATE_RULES } from '../../src/http/plugins/rate-limit.js';
import { totpCode } from '../helpers/mfa.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/oidc-upstream.js';
import { flowCookieOf, followUpstream } from '../helpers/sso.js';

/**
 * The served OpenAPI document against what the server does (issue 8, "OpenAPI truthfulness"; IN-07,
 * AC-01..03, SES-06 flows). Real requests go through the real app: the happy path of every operation,
 * the errors each kind of route can answer (generated from the document itself, so a route nobody
 * wrote a case for is still probed), rate limits, browser mode and an unready store. Every answer is
 * checked against the document: status declared, Content-Type declared, body valid against the
 * declared schema, required headers present.
 */

const METRICS_TOKEN = 'metrics-token-of-some-length';
const BIG = 'x'.repeat(2 * 1024 * 1024);

async function contractOf(t: TestApp): Promise<OpenApiContract> {
  return new OpenApiContract((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json());
}

function client(t: TestApp, contract: OpenApiContract) {
  return async (label: string, options: InjectOptions & { method: string; url: string }): Promise<LightMyRequestResponse> => {
    const res = await t.app.inject(options);
    contract.check(label, options.method, options.url, res);
    return res;
  };
}

describe('OpenAPI document: every answer is one the document declares (IN-07)', () => {
  let t: TestApp;
  let contract: OpenApiContract;
  let send: ReturnType<typeof client>;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let upstream: OidcUpstream;

  beforeAll(async () => {
    // A real upstream OpenID provider, for the happy paths of federated sign-in.
    upstream = await startOidcUpstream({
      accounts: [
        { id: 'up-oa', email: 'up-oa@example.com', emailVerified: true },
        { id: 'up-link', email: 'up-link@example.com', emailVerified: false },
      ],
      redirectUris: ['http://gatehouse.test/auth/sso/upstream/callback'],
    });
    const sso = JSON.stringify([{ id: 'upstream', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret }]);
    t = await buildTestApp({ METRICS_TOKEN, EMAIL_SIGN_IN: 'on', SSO_PROVIDERS: sso }, { metrics: new Metrics() });
    contract = await contractOf(t);
    send = client(t, contract);
    admin = await signUp(t, { admin: true });
    alice = await signUp(t);
    bob = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  it('IN-07 federated sign-in: providers, start, callback, link, identities and unlink match the document', async () => {
    const callbackOf = async (start: LightMyRequestResponse) => {
      const location = start.statusCode === 200 ? (start.json() as { authorization_url: string }).authorization_url : String(start.headers.location);
      const back = await followUpstream(location, 'http://gatehouse.test/auth/sso/upstream/callback');
      return send('sso callback', { method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie: flowCookieOf(start) } });
    };
    await send('providers', { method: 'GET', url: '/auth/providers' });
    const start = await send('sso start', { method: 'GET', url: '/auth/sso/upstream/start?redirect_to=%2Fui%2Faccount' });
    expect((await callbackOf(start)).statusCode).toBe(200);
    await send('sso start unknown', { method: 'GET', url: '/auth/sso/unknown/start' });
    await send('sso callback without flow', { method: 'GET', url: '/auth/sso/upstream/callback?state=x&code=y' });
    upstream.signInAs('up-link');
    const link = await send('sso link', { method: 'POST', url: '/auth/sso/upstream/link', headers: alice.auth });
    expect((await callbackOf(link)).statusCode).toBe(200);
    const taken = await callbackOf(await send('sso link taken', { method: 'POST', url: '/auth/sso/upstream/link', headers: bob.auth }));
    expect(taken.statusCode).toBe(409);
    const identities = await send('identities', { method: 'GET', url: '/auth/identities', headers: alice.auth });
    const [identity] = (identities.json() as { items: { id: string }[] }).items;
    expect((await send('unlink', { method: 'DELETE', url: `/auth/identities/${identity!.id}`, headers: alice.auth })).statusCode).toBe(204);
    await send('unlink unknown', { method: 'DELETE', url: '/auth/identities/none', headers: alice.auth });
  });

  it('IN-07 happy paths and the errors of every flow match the document', async () => {
    const json = (payload: object, headers: Record<string, string> = {}) => ({ payload, headers: { ...headers, 'content-type': 'application/json' } });
    // Operations
    await send('health', { method: 'GET', url: '/health' });
    await send('ready', { method: 'GET', url: '/ready' });
    await send('jwks', { method: 'GET', url: '/.well-known/jwks.json' });
    await send('discovery', { method: 'GET', url: '/.well-known/openid-configuration' });
    await send('discovery (RFC 8414)', { method: 'GET', url: '/.well-known/oauth-authorization-server' });
    await send('metrics', { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    await send('metrics without token', { method: 'GET', url: '/metrics' });
    await send('metrics wrong token', { method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    await send('metrics two tokens', { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'x-access-token': METRICS_TOKEN } });

    // Register and log in, as JSON and as forms
    const carol = { username: 'carol_oa', email: 'carol_oa@example.com', password: PASSWORD };
    await send('register', { method: 'POST', url: '/auth/register', ...json(carol) });
    await send('register taken', { method: 'POST', url: '/auth/register', ...json(carol) });
    await send('register form', {
      method: 'POST',
      url: '/auth/register',
      payload: 'username=dave_oa&email=dave_oa%40example.com&password=correct+horse+battery+staple',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await send('register invalid', { method: 'POST', url: '/auth/register', ...json({ username: 'x', email: 1, extra: true }) });
    await send('register short password', { method: 'POST', url: '/auth/register', ...json({ username: 'erin_oa', email: 'erin@example.com', password: 'short' }) });
    const login = await send('login', { method: 'POST', url: '/auth/login', ...json({ login: 'carol_oa', password: PASSWORD }) });
    const carolTokens = login.json() as { access_token: string; refresh_token: string };
    await send('login form', {
      method: 'POST',
      url: '/auth/login',
      payload: `username=dave_oa&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await send('login wrong password', { method: 'POST', url: '/auth/login', ...json({ login: 'carol_oa', password: 'wrong password!' }) });
    await send('login two names', { method: 'POST', url: '/auth/login', ...json({ login: 'carol_oa', email: 'x@example.com', password: PASSWORD }) });

    // Refresh
    const refreshed = await send('refresh', { method: 'POST', url: '/auth/refresh', ...json({ refresh_token: carolTokens.refresh_token }) });
    await send('refresh unknown', { method: 'POST', url: '/auth/refresh', ...json({ refresh_token: 'not-a-token' }) });
    await send('refresh without body', { method: 'POST', url: '/auth/refresh' });
    await send('refresh empty object', { method: 'POST', url: '/auth/refresh', ...json({}) });

    // OAuth token endpoint
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const oauth = await send('oauth password grant', {
      method: 'POST',
      url: '/oauth/token',
      payload: `grant_type=password&username=dave_oa&password=${encodeURIComponent(PASSWORD)}`,
      headers: form,
    });
    await send('oauth refresh grant', {
      method: 'POST',
      url: '/oauth/token',
      payload: `grant_type=refresh_token&refresh_token=${encodeURIComponent((oauth.json() as { refresh_token: string }).refresh_token)}`,
      headers: form,
    });
    await send('oauth bad password', { method: 'POST', url: '/oauth/token', payload: 'grant_type=password&username=dave_oa&password=nope', headers: form });
    await send('oauth unsupported grant', { method: 'POST', url: '/oauth/token', payload: 'grant_type=authorization_code&code=x&redirect_uri=y', headers: form });
    await send('oauth missing grant', { method: 'POST', url: '/oauth/token', payload: '', headers: form });
    if (contract.find('POST', '/oauth/revoke')) {
      await send('oauth revoke', {
        method: 'POST',
        url: '/oauth/revoke',
        payload: `token=${encodeURIComponent((refreshed.json() as { refresh_token: string }).refresh_token)}&client_id=gatehouse`,
        headers: form,
      });
    }

    // The caller
    await send('me', { method: 'GET', url: '/auth/me', headers: alice.auth });
    await send('me x-access-token', { method: 'GET', url: '/auth/me', headers: { 'x-access-token': alice.accessToken } });
    await send('me expired-looking token', { method: 'GET', url: '/auth/me', headers: { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln' } });
    await send('me basic scheme', { method: 'GET', url: '/auth/me', headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    await send('me two tokens', { method: 'GET', url: '/auth/me', headers: { ...alice.auth, 'x-access-token': alice.accessToken } });
    await send('patch me', { method: 'PATCH', url: '/auth/me', ...json({ name: 'Alice' }, alice.auth) });
    await send('patch me taken email', { method: 'PATCH', url: '/auth/me', ...json({ email: bob.email }, alice.auth) });
    await send('patch me empty', { method: 'PATCH', url: '/auth/me', ...json({}, alice.auth) });
    await send('sessions', { method: 'GET', url: '/auth/sessions', headers: alice.auth });
    const other = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: alice.username, password: PASSWORD } });
    const otherSession = (await t.app.inject({ method: 'GET', url: '/auth/sessions', headers: { authorization: `Bearer ${other.json().access_token}` } }))
      .json()
      .items.find((s: { current: boolean }) => s.current).id;
    await send('revoke own session', { method: 'DELETE', url: `/auth/sessions/${otherSession}`, headers: alice.auth });
    await send('revoke unknown session', { method: 'DELETE', url: '/auth/sessions/00000000-0000-0000-0000-000000000000', headers: alice.auth });
    await send('revoke bad id', { method: 'DELETE', url: '/auth/sessions/not%20an%20id', headers: alice.auth });
    await send('reauthenticate', { method: 'POST', url: '/auth/reauthenticate', ...json({ password: PASSWORD }, bob.auth) });
    await send('reauthenticate wrong password', { method: 'POST', url: '/auth/reauthenticate', ...json({ password: 'not it at all' }, bob.auth) });
    await send('reauthenticate nothing', { method: 'POST', url: '/auth/reauthenticate', ...json({}, bob.auth) });
    await send('password change', { method: 'POST', url: '/auth/password', ...json({ current_password: PASSWORD, new_password: `${PASSWORD}!` }, bob.auth) });
    await send('password wrong current', { method: 'POST', url: '/auth/password', ...json({ current_password: 'not it at all', new_password: `${PASSWORD}?` }, bob.auth) });
    await send('password too short', { method: 'POST', url: '/auth/password', ...json({ current_password: `${PASSWORD}!`, new_password: 'short' }, bob.auth) });

    // Email flows (the development outbox holds the links)
    await send('verify send', { method: 'POST', url: '/auth/email/verify/send', headers: alice.auth });
    await send('verify', { method: 'POST', url: '/auth/email/verify', ...json({ token: tokenIn((await lastMail(t, 'carol_oa@example.com', 'verify_email')).text) }) });
    await send('verify unknown token', { method: 'POST', url: '/auth/email/verify', ...json({ token: 'nope' }) });
    await send('forgot', { method: 'POST', url: '/auth/password/forgot', ...json({ email: 'dave_oa@example.com' }) });
    await send('forgot bad address', { method: 'POST', url: '/auth/password/forgot', ...json({ email: 'no address' }) });
    const resetToken = tokenIn((await lastMail(t, 'dave_oa@example.com', 'reset_password')).text);
    await send('reset weak password', { method: 'POST', url: '/auth/password/reset', ...json({ token: resetToken, new_password: 'short' }) });
    await send('reset', { method: 'POST', url: '/auth/password/reset', ...json({ token: resetToken, new_password: `${PASSWORD} again` }) });
    await send('reset used token', { method: 'POST', url: '/auth/password/reset', ...json({ token: resetToken, new_password: `${PASSWORD} again` }) });
    await send('patch me new email', { method: 'PATCH', url: '/auth/me', ...json({ email: 'alice_oa_new@example.com' }, alice.auth) });
    const changeToken = tokenIn((await lastMail(t, 'alice_oa_new@example.com', 'change_email')).text, 'change');
    await send('change confirm', { method: 'POST', url: '/auth/email/change/confirm', ...json({ token: changeToken }) });
    await send('change confirm used', { method: 'POST', url: '/auth/email/change/confirm', ...json({ token: changeToken }) });
    await send('patch user self new email', { method: 'PATCH', url: `/users/${alice.id}`, ...json({ email: 'alice_oa_newer@example.com' }, alice.auth) });
    await send('sign-in', { method: 'POST', url: '/auth/email/sign-in', ...json({ email: 'carol_oa@example.com' }) });
    const signIn = (await lastMail(t, 'carol_oa@example.com', 'sign_in')).text;
    await send('sign-in wrong code', {
      method: 'POST',
      url: '/auth/email/sign-in/verify',
      ...json({ email: 'carol_oa@example.com', code: '000000' === /code is (\d{6})/.exec(signIn)![1] ? '000001' : '000000' }),
    });
    await send('sign-in code', { method: 'POST', url: '/auth/email/sign-in/verify', ...json({ email: 'carol_oa@example.com', code: /code is (\d{6})/.exec(signIn)![1]! }) });
    await send('sign-in neither', { method: 'POST', url: '/auth/email/sign-in/verify', ...json({ email: 'carol_oa@example.com' }) });

    // Second factors and passkeys (a software authenticator stands in for the browser's)
    const mfaUser = await signUp(t);
    const totp = await send('totp start', { method: 'POST', url: '/auth/mfa/totp', ...json({ name: 'Phone' }, mfaUser.auth) });
    const { id: totpId, secret } = totp.json();
    await send('totp confirm wrong', { method: 'POST', url: `/auth/mfa/totp/${totpId}/confirm`, ...json({ code: totpCode(secret, t.clock.now(), 9) }, mfaUser.auth) });
    await send('totp confirm unknown', { method: 'POST', url: '/auth/mfa/totp/00000000-0000-0000-0000-000000000000/confirm', ...json({ code: '123456' }, mfaUser.auth) });
    await send('totp confirm', { method: 'POST', url: `/auth/mfa/totp/${totpId}/confirm`, ...json({ code: totpCode(secret, t.clock.now()) }, mfaUser.auth) });
    await send('factors', { method: 'GET', url: '/auth/mfa', headers: mfaUser.auth });
    const codes = (await send('recovery codes', { method: 'POST', url: '/auth/mfa/recovery-codes', headers: mfaUser.auth })).json().recovery_codes;
    const step = await send('login mfa required', { method: 'POST', url: '/auth/login', ...json({ login: mfaUser.username, password: PASSWORD }) });
    await send('mfa verify wrong', { method: 'POST', url: '/auth/mfa/verify', ...json({ mfa_token: step.json().mfa_token, recovery_code: 'AAAA-AAAA-AAAA' }) });
    await send('mfa verify nothing', { method: 'POST', url: '/auth/mfa/verify', ...json({ mfa_token: step.json().mfa_token }) });
    await send('mfa verify', { method: 'POST', url: '/auth/mfa/verify', ...json({ mfa_token: step.json().mfa_token, recovery_code: codes[0] }) });
    await send('mfa verify used token', { method: 'POST', url: '/auth/mfa/verify', ...json({ mfa_token: step.json().mfa_token, recovery_code: codes[1] }) });
    await send('password grant mfa required', {
      method: 'POST',
      url: '/oauth/token',
      payload: `grant_type=password&username=${mfaUser.username}&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const authenticator = new SoftAuthenticator();
    const creation = (await send('passkey options', { method: 'POST', url: '/auth/webauthn/register/options', ...json({ name: 'Key' }, mfaUser.auth) })).json();
    const attestation = authenticator.create(creation.options, { origin: 'http://gatehouse.test' });
    await send('passkey register', { method: 'POST', url: '/auth/webauthn/register/verify', ...json({ challenge_id: creation.challenge_id, attestation }, mfaUser.auth) });
    await send('passkey register replay', { method: 'POST', url: '/auth/webauthn/register/verify', ...json({ challenge_id: creation.challenge_id, attestation }, mfaUser.auth) });
    const request = (await send('passkey login options', { method: 'POST', url: '/auth/webauthn/login/options', ...json({}) })).json();
    const assertion = authenticator.get(request.options, { origin: 'http://gatehouse.test' });
    const passkey = await send('passkey login', { method: 'POST', url: '/auth/webauthn/login/verify', ...json({ challenge_id: request.challenge_id, assertion }) });
    await send('passkey login replay', { method: 'POST', url: '/auth/webauthn/login/verify', ...json({ challenge_id: request.challenge_id, assertion }) });
    const passkeyAuth = { authorization: `Bearer ${passkey.json().access_token}` };
    await send('remove factor', { method: 'DELETE', url: `/auth/mfa/${totpId}`, headers: passkeyAuth });
    await send('remove unknown factor', { method: 'DELETE', url: `/auth/mfa/${totpId}`, headers: passkeyAuth });
    await send('admin mfa reset', { method: 'DELETE', url: `/users/${mfaUser.id}/mfa`, headers: admin.auth });
    await send('mfa reset not admin', { method: 'DELETE', url: `/users/${mfaUser.id}/mfa`, headers: alice.auth });

    // Users
    await send('users', { method: 'GET', url: '/users?limit=2', headers: alice.auth });
    await send('users prefix', { method: 'GET', url: '/users?q=car', headers: admin.auth });
    await send('users bad limit', { method: 'GET', url: '/users?limit=0', headers: alice.auth });
    await send('user', { method: 'GET', url: `/users/${bob.id}`, headers: alice.auth });
    await send('user as admin', { method: 'GET', url: `/users/${bob.id}`, headers: admin.auth });
    await send('user unknown', { method: 'GET', url: '/users/00000000-0000-0000-0000-000000000000', headers: alice.auth });
    await send('create user', { method: 'POST', url: '/users', ...json({ username: 'frank_oa', email: 'frank_oa@example.com', password: PASSWORD, role: 'admin' }, admin.auth) });
    await send('create user not admin', { method: 'POST', url: '/users', ...json({ username: 'gina_oa', email: 'gina_oa@example.com', password: PASSWORD }, alice.auth) });
    await send('create user taken', { method: 'POST', url: '/users', ...json({ username: 'frank_oa', email: 'frank2_oa@example.com', password: PASSWORD }, admin.auth) });
    await send('patch user self', { method: 'PATCH', url: `/users/${alice.id}`, ...json({ name: null }, alice.auth) });
    await send('patch user role self', { method: 'PATCH', url: `/users/${alice.id}`, ...json({ role: 'admin' }, alice.auth) });
    await send('patch other user', { method: 'PATCH', url: `/users/${bob.id}`, ...json({ name: 'x' }, alice.auth) });
    await send('patch user unknown', { method: 'PATCH', url: '/users/00000000-0000-0000-0000-000000000000', ...json({ name: 'x' }, admin.auth) });
    await send('patch user taken username', { method: 'PATCH', url: `/users/${alice.id}`, ...json({ username: bob.username }, admin.auth) });
    await send('delete other user', { method: 'DELETE', url: `/users/${bob.id}`, headers: alice.auth });
    await send('delete unknown user', { method: 'DELETE', url: '/users/00000000-0000-0000-0000-000000000000', headers: admin.auth });

    // Items
    await send('create item', { method: 'POST', url: '/items', ...json({ name: 'lamp', price: 12.5, description: 'bright' }, alice.auth) });
    await send('create item taken', { method: 'POST', url: '/items', ...json({ name: 'lamp', price: 1 }, bob.auth) });
    await send('create item bad price', { method: 'POST', url: '/items', ...json({ name: 'desk', price: -1 }, bob.auth) });
    await send('items', { method: 'GET', url: '/items', headers: bob.auth });
    await send('items by owner', { method: 'GET', url: `/items?owner=${alice.id}&limit=1`, headers: bob.auth });
    await send('items bad cursor', { method: 'GET', url: '/items?cursor=!!', headers: bob.auth });
    await send('item', { method: 'GET', url: '/items/lamp', headers: bob.auth });
    await send('item unknown', { method: 'GET', url: '/items/nothing', headers: bob.auth });
    await send('put new item', { method: 'PUT', url: '/items/chair', ...json({ price: 30 }, bob.auth) });
    await send('put replace item', { method: 'PUT', url: '/items/chair', ...json({ price: 31, description: null }, bob.auth) });
    await send('put foreign item', { method: 'PUT', url: '/items/lamp', ...json({ price: 1 }, bob.auth) });
    await send('patch item', { method: 'PATCH', url: '/items/lamp', ...json({ price: 13 }, alice.auth) });
    await send('patch item rename taken', { method: 'PATCH', url: '/items/lamp', ...json({ name: 'chair' }, alice.auth) });
    await send('patch foreign item', { method: 'PATCH', url: '/items/lamp', ...json({ price: 1 }, bob.auth) });
    await send('patch unknown item', { method: 'PATCH', url: '/items/nothing', ...json({ price: 1 }, bob.auth) });
    await send('delete foreign item', { method: 'DELETE', url: '/items/lamp', headers: bob.auth });
    await send('delete item', { method: 'DELETE', url: '/items/chair', headers: bob.auth });
    await send('delete unknown item', { method: 'DELETE', url: '/items/chair', headers: bob.auth });

    // Admin
    await send('audit', { method: 'GET', url: '/admin/audit?limit=5', headers: admin.auth });
    await send('audit filtered', { method: 'GET', url: `/admin/audit?user=${alice.id}&type=login.succeeded`, headers: admin.auth });
    await send('audit not admin', { method: 'GET', url: '/admin/audit', headers: alice.auth });
    await send('audit bad type', { method: 'GET', url: '/admin/audit?type=nope', headers: admin.auth });
    await send('audit time range', { method: 'GET', url: '/admin/audit?since=2026-01-01T00:00:00Z&until=2030-01-01T00:00:00.000%2B01:00', headers: admin.auth });
    await send('audit bad since', { method: 'GET', url: '/admin/audit?since=yesterday', headers: admin.auth });
    const frank = await signUp(t);
    await send('end every session of a user', { method: 'DELETE', url: `/users/${frank.id}/sessions`, headers: admin.auth });
    await send('end sessions, not admin', { method: 'DELETE', url: `/users/${frank.id}/sessions`, headers: alice.auth });
    await send('end sessions of unknown user', { method: 'DELETE', url: '/users/00000000-0000-0000-0000-000000000000/sessions', headers: admin.auth });

    // The OAuth provider (issue 15): clients, the code flow, userinfo, introspection, consents, logout
    const olivia = await signUp(t);
    const created = await send('create client', {
      method: 'POST',
      url: '/admin/clients',
      ...json({ name: 'Contract app', type: 'confidential', redirect_uris: ['https://app.example/cb'], post_logout_redirect_uris: ['https://app.example/bye'] }, admin.auth),
    });
    const rp = { id: created.json().client.id as string, secret: created.json().client_secret as string, redirectUri: 'https://app.example/cb' };
    await send('create client bad', { method: 'POST', url: '/admin/clients', ...json({ name: 'x', type: 'public', redirect_uris: ['http://x.example/'] }, admin.auth) });
    await send('create client not admin', { method: 'POST', url: '/admin/clients', ...json({ name: 'x', type: 'public' }, olivia.auth) });
    await send('clients', { method: 'GET', url: '/admin/clients', headers: admin.auth });
    await send('client', { method: 'GET', url: `/admin/clients/${rp.id}`, headers: admin.auth });
    await send('client unknown', { method: 'GET', url: '/admin/clients/nope', headers: admin.auth });
    await send('patch client', { method: 'PATCH', url: `/admin/clients/${rp.id}`, ...json({ name: 'Contract app 2' }, admin.auth) });
    await send('rotate secret', { method: 'POST', url: `/admin/clients/${rp.id}/secret`, headers: admin.auth });
    const rotated = await send('rotate secret, drop the old', { method: 'POST', url: `/admin/clients/${rp.id}/secret`, ...json({ keep_previous: false }, admin.auth) });
    rp.secret = rotated.json().client_secret;
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({
      client_id: rp.id,
      redirect_uri: rp.redirectUri,
      response_type: 'code',
      scope: 'openid email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await send('authorize unknown client', { method: 'GET', url: '/oauth/authorize?client_id=nope' });
    const started = await send('authorize', { method: 'GET', url: `/oauth/authorize?${query}` });
    const requestId = new URL(String(started.headers.location)).searchParams.get('request')!;
    await send('continue', { method: 'POST', url: `/oauth/authorize/requests/${requestId}`, headers: olivia.auth });
    await send('continue unknown', { method: 'POST', url: '/oauth/authorize/requests/nope', headers: olivia.auth });
    const decided = await send('consent', { method: 'POST', url: `/oauth/authorize/requests/${requestId}/consent`, ...json({ approve: true }, olivia.auth) });
    const code = new URL(decided.json().redirect_to).searchParams.get('code')!;
    const basicRp = { authorization: `Basic ${Buffer.from(`${rp.id}:${rp.secret}`).toString('base64')}` };
    const formOf = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
      payload: new URLSearchParams(body).toString(),
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    const granted = await send('code grant', {
      method: 'POST',
      url: '/oauth/token',
      ...formOf({ grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: verifier }, basicRp),
    });
    // A third-party app's token on Gatehouse's own API: 403 ERR_THIRD_PARTY_TOKEN, declared on every bearer route.
    const thirdParty = await send('third-party token on a first-party route', {
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${granted.json().access_token}` },
    });
    expect(thirdParty.statusCode).toBe(403);
    expect(thirdParty.json().code).toBe('ERR_THIRD_PARTY_TOKEN');
    await send('code replay', {
      method: 'POST',
      url: '/oauth/token',
      ...formOf({ grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: verifier }, basicRp),
    });
    await send('userinfo', { method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${olivia.accessToken}` } });
    await send('consents', { method: 'GET', url: '/auth/consents', headers: olivia.auth });
    const fresh = await t.app.inject({
      method: 'POST',
      url: '/admin/clients',
      ...json({ name: 'Info', type: 'confidential', first_party: true, redirect_uris: ['https://info.example/cb'] }, admin.auth),
    });
    const infoRp = { id: fresh.json().client.id as string, secret: fresh.json().client_secret as string };
    const infoQuery = new URLSearchParams({
      client_id: infoRp.id,
      redirect_uri: 'https://info.example/cb',
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const infoRequest = new URL(String((await t.app.inject({ method: 'GET', url: `/oauth/authorize?${infoQuery}` })).headers.location)).searchParams.get('request')!;
    const infoCode = new URL((await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${infoRequest}`, headers: olivia.auth })).json().redirect_to).searchParams.get(
      'code',
    )!;
    const infoBasic = { authorization: `Basic ${Buffer.from(`${infoRp.id}:${infoRp.secret}`).toString('base64')}` };
    const infoTokens = (
      await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        ...formOf({ grant_type: 'authorization_code', code: infoCode, redirect_uri: 'https://info.example/cb', code_verifier: verifier }, infoBasic),
      })
    ).json();
    await send('userinfo with openid', { method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${infoTokens.access_token}` } });
    await send('userinfo POST', { method: 'POST', url: '/oauth/userinfo', headers: { authorization: `Bearer ${infoTokens.access_token}` } });
    await send('introspect', { method: 'POST', url: '/oauth/introspect', ...formOf({ token: infoTokens.access_token }, infoBasic) });
    await send('introspect public', { method: 'POST', url: '/oauth/introspect', ...formOf({ token: 'x', client_id: 'gatehouse' }) });
    await send('logout unknown hint', { method: 'GET', url: '/oauth/logout?id_token_hint=a.b.c' });
    await send('logout without a hint asks', { method: 'GET', url: '/oauth/logout' });
    const confirmForm = { 'content-type': 'application/x-www-form-urlencoded' };
    await send('logout confirmed', { method: 'POST', url: '/oauth/logout', headers: { ...confirmForm, 'sec-fetch-site': 'same-origin' }, payload: '' });
    await send('logout posted by another site', { method: 'POST', url: '/oauth/logout', headers: { ...confirmForm, origin: 'https://evil.example' }, payload: '' });
    await send('withdraw consent', { method: 'DELETE', url: `/auth/consents/${rp.id}`, headers: olivia.auth });
    await send('withdraw unknown consent', { method: 'DELETE', url: `/auth/consents/${rp.id}`, headers: olivia.auth });
    await send('logout', {
      method: 'GET',
      url: `/oauth/logout?id_token_hint=${granted.json().id_token}&post_logout_redirect_uri=${encodeURIComponent('https://app.example/bye')}`,
    });
    await send('delete client', { method: 'DELETE', url: `/admin/clients/${rp.id}`, headers: admin.auth });

    // Sign out last, and delete accounts
    await send('logout without body', { method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${other.json().access_token}` } });
    await send('logout bad scope', { method: 'POST', url: '/auth/logout', ...json({ scope: 'everywhere' }, alice.auth) });
    await send('logout global', { method: 'POST', url: '/auth/logout', ...json({ scope: 'global' }, { authorization: `Bearer ${carolTokens.access_token}` }) });
    await send('delete self', { method: 'DELETE', url: `/users/${bob.id}`, headers: bob.auth });
    await send('token of deleted user', { method: 'GET', url: '/auth/me', headers: bob.auth });

    expect(contract.failures).toEqual([]);
    expect(contract.checked).toBeGreaterThan(80);
  });

  it('IN-07 the errors each kind of route can answer, generated from the document for every operation', async () => {
    const pct = (s: string) => encodeURIComponent(s);
    for (const { method, template } of contract.operations()) {
      const m = method.toUpperCase();
      const params = template.includes('{');
      const url = (value: string) => template.replace(/\{[^}]+\}/g, value);
      const plain = url('probe');
      const label = `${m} ${template}`;
      // No credential, a wrong one, two at once.
      await send(`${label} no token`, { method: m, url: plain });
      await send(`${label} bad token`, { method: m, url: plain, headers: { authorization: 'Bearer not.a.token' } });
      await send(`${label} two tokens`, { method: m, url: plain, headers: { ...alice.auth, 'x-access-token': alice.accessToken } });
      // Wrong and broken bodies, with and without a token.
      if (m !== 'GET' && m !== 'HEAD') {
        for (const headers of [{}, alice.auth]) {
          await send(`${label} text/plain`, { method: m, url: plain, headers: { ...headers, 'content-type': 'text/plain' }, payload: 'hello' });
          await send(`${label} xml`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/xml' }, payload: '<a/>' });
          await send(`${label} broken JSON`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/json' }, payload: '{"a":' });
          await send(`${label} too large`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/json' }, payload: `{"a":"${BIG}"}` });
          await send(`${label} prototype key`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/json' }, payload: '{"__proto__":{"x":1}}' });
          await send(`${label} unknown field`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/json' }, payload: '{"unexpected_field":1}' });
          await send(`${label} array body`, { method: m, url: plain, headers: { ...headers, 'content-type': 'application/json' }, payload: '[]' });
        }
      }
      // Hostile path parameters.
      if (params) {
        await send(`${label} long param`, { method: m, url: url('a'.repeat(300)), headers: alice.auth });
        await send(`${label} broken escape`, { method: m, url: url('%E0%A4%A'), headers: alice.auth });
        await send(`${label} control char`, { method: m, url: url(pct('a\u0001b')), headers: alice.auth });
      }
      // Hostile query strings.
      await send(`${label} odd query`, { method: m, url: `${plain}?limit=abc&cursor=%00&unknown=1`, headers: alice.auth });
    }
    expect(contract.failures).toEqual([]);
  });

  it('IN-07 every operation was answered 2xx at least once above (add a happy path for a new one)', () => {
    // An operation that declares no 2xx at all (a path kept to answer 404) has no happy path to replay.
    const hasSuccess = (o: { template: string; method: string }) => Object.keys(contract.doc.paths[o.template]![o.method]!.responses).some((s) => s.startsWith('2'));
    const missing = contract.operations().filter((o) => hasSuccess(o) && ![...(contract.seen.get(o.operationId) ?? [])].some((s) => s >= 200 && s < 300));
    expect(missing.map((o) => `${o.method.toUpperCase()} ${o.template}`)).toEqual([]);
  });
});

describe('OpenAPI document: rate limits, browser mode and an unready store (IN-07, WEB-01)', () => {
  it('IN-07 429 answers, with Retry-After and RateLimit-*, are declared on every route that sends them', async () => {
    const t = await buildTestApp({ RATE_LIMIT: 'on' });
    try {
      const contract = await contractOf(t);
      const send = client(t, contract);
      const user = await signUp(t);
      const other = await signUp(t);
      const budgeted = await signUp(t);
      // MFA-02's budget answers 429 on a pending factor's wrong codes.
      const pending = (await t.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: budgeted.auth, payload: {} })).json().id;
      const probes: [string, string, object, Record<string, string>?][] = [
        ['POST', '/auth/register', { username: '', email: '', password: '' }],
        ['POST', '/auth/login', { login: 'nobody', password: 'x' }],
        ['POST', '/auth/refresh', { refresh_token: 'unknown' }],
        ['POST', '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'unknown' }],
        ['POST', '/oauth/revoke', { token: 'unknown' }],
        ['POST', '/oauth/introspect', { token: 'unknown' }],
        ['GET', '/oauth/authorize?client_id=unknown', undefined as unknown as object],
        ['GET', '/users', undefined as unknown as object, user.auth],
        ['GET', `/users/${other.id}`, undefined as unknown as object, user.auth],
        ['PATCH', '/auth/me', {}, user.auth],
        ['PATCH', `/users/${user.id}`, {}, user.auth],
        ['POST', '/auth/password', { current_password: 'x', new_password: 'y' }, user.auth],
        ['POST', '/auth/reauthenticate', { password: 'x' }, other.auth],
        ['POST', '/auth/mfa/verify', { mfa_token: 'x', code: '123456' }],
        ['POST', '/auth/webauthn/login/options', {}],
        [
          'POST',
          '/auth/webauthn/login/verify',
          { challenge_id: 'x', assertion: { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: 'x', authenticatorData: 'x', signature: 'x' } } },
        ],
        ['POST', `/auth/mfa/totp/${pending}/confirm`, { code: '000000' }, budgeted.auth],
        ['POST', '/auth/email/verify', { token: 'x' }],
        ['POST', '/auth/password/forgot', { email: 'someone@example.com' }],
        ['POST', '/auth/password/reset', { token: 'x', new_password: 'y' }],
        ['POST', '/auth/email/change/confirm', { token: 'x' }],
        ['POST', '/auth/email/sign-in', { email: 'someone@example.com' }],
        ['POST', '/auth/email/sign-in/verify', { token: 'x' }],
        ['POST', '/auth/email/verify/send', {}, user.auth],
        ['GET', '/auth/sso/probe/start', undefined as unknown as object],
        ['GET', '/auth/sso/probe/callback', undefined as unknown as object],
        ['POST', '/auth/sso/probe/link', {}, user.auth],
      ];
      // The largest budget (the directory's 300 an hour) decides how far each probe may go.
      for (const [method, url, payload, headers] of probes) {
        for (let i = 0; i <= RATE_RULES.directory.max; i++) {
          const res = await send(`${method} ${url} #${i}`, {
            method,
            url,
            payload,
            headers: { ...headers, 'content-type': 'application/json' },
            remoteAddress: `203.0.113.${probes.findIndex((p) => p[1] === url) + 1}`,
          });
          if (res.statusCode === 429) break;
        }
      }
      // Each route that declares 429 was driven into it, and the answer matched the document.
      const declared = contract.operations().filter((o) => '429' in contract.doc.paths[o.template]![o.method]!.responses);
      const reached = declared.filter((o) => contract.seen.get(o.operationId)?.has(429));
      expect(reached.map((o) => o.operationId)).toEqual(declared.map((o) => o.operationId));
      expect(declared.length).toBeGreaterThanOrEqual(probes.length);
      expect(contract.failures).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('WEB-01 browser mode: cookie refresh and 403 ERR_FORBIDDEN_ORIGIN match the document', async () => {
    const t = await buildTestApp({ REFRESH_COOKIE: 'true', CORS_ORIGINS: 'https://app.example' });
    try {
      const contract = await contractOf(t);
      const send = client(t, contract);
      const user = await signUp(t);
      const cookie = `gatehouse_refresh=${user.refreshToken}`;
      const refused = await send('refresh from a foreign origin', { method: 'POST', url: '/auth/refresh', headers: { cookie, origin: 'https://evil.example' } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('ERR_FORBIDDEN_ORIGIN');
      await send('refresh by cookie', { method: 'POST', url: '/auth/refresh', headers: { cookie, origin: 'https://app.example' } });
      await send('login in browser mode', {
        method: 'POST',
        url: '/auth/login',
        payload: { login: user.username, password: PASSWORD },
        headers: { origin: 'https://app.example' },
      });
      await send('logout in browser mode', { method: 'POST', url: '/auth/logout', headers: user.auth });
      expect(contract.failures).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('IN-07 /ready answers a declared 503 when storage does not answer', async () => {
    const t = await buildTestApp();
    const contract = await contractOf(t);
    const send = client(t, contract);
    await t.storage.close();
    const res = await send('ready without storage', { method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(contract.failures).toEqual([]);
    await t.app.close();
  });
});

describe('OpenAPI document: lint', () => {
  it('IN-07 @redocly/cli lint --extends recommended finds no errors', async () => {
    const t = await buildTestApp();
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, (await t.app.inject({ method: 'GET', url: '/openapi.json' })).body);
      const run = spawnSync(process.execPath, ['node_modules/@redocly/cli/bin/cli.js', 'lint', '--extends', 'recommended', '--format', 'json', file], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      });
      const report = JSON.parse(run.stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await t.close();
    }
  }, 60_000);
});
