import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_PASSWORD } from '../../src/core/auth/sign-in-methods.js';
import { newId } from '../../src/core/ids.js';
import { decode } from '../helpers/forge.js';
import { buildTestApp, PASSWORD, problemOf, signUp, type TestApp } from '../helpers/app.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/oidc-upstream.js';
import { queued } from '../helpers/mail.js';
import { flowCookieOf, followUpstream, signInThrough } from '../helpers/sso.js';

const CALLBACK = 'http://gatehouse.test/auth/sso/upstream/callback';

/**
 * Federated sign-in against a real OpenID provider (the oidc-provider package, on a free port)
 * with a verified and an unverified account, through the HTTP API (inject). The browser version
 * is test/e2e/sso-browser.test.ts; the forged-token attacks are in sso-forged.test.ts.
 */
describe('sign-in with another identity provider (FED-01..03)', () => {
  let upstream: OidcUpstream;
  let t: TestApp;

  beforeAll(async () => {
    upstream = await startOidcUpstream({
      accounts: [
        { id: 'up-alice', email: 'alice@example.com', emailVerified: true, name: 'Alice Upstream', preferredUsername: 'alice' },
        { id: 'up-mallory', email: 'victim@example.com', emailVerified: false, preferredUsername: 'mallory' },
        { id: 'up-vera', email: 'vera@example.com', emailVerified: true, preferredUsername: 'vera' },
        { id: 'up-newbie', email: 'newbie@example.com', emailVerified: false, preferredUsername: 'newbie' },
        { id: 'up-lookalike', email: 'lookalike@example.com', emailVerified: true, preferredUsername: '\u0430lice' },
        { id: 'up-repointed', email: 'repointed@example.com', emailVerified: true, preferredUsername: 'repointed' },
      ],
      redirectUris: [CALLBACK],
    });
    t = await buildTestApp({
      SSO_PROVIDERS: JSON.stringify([{ id: 'upstream', name: 'Test IdP', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret }]),
    });
  }, 20_000);

  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const auditOf = async (type: string) => (await t.services.audit.list({ limit: 100 })).items.filter((e) => e.type === type);
  const userByEmail = (email: string) => t.storage.users.findByEmail(email);

  it('lists the configured providers publicly, without secrets', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/auth/providers' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [{ id: 'upstream', name: 'Test IdP', type: 'oidc' }] });
    expect(res.body).not.toContain(upstream.clientSecret);
  });

  it('FED-01: start sends the browser to the provider with PKCE (S256), state and nonce, and a sealed flow cookie', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/auth/sso/upstream/start' });
    expect(res.statusCode).toBe(303);
    const url = new URL(String(res.headers.location));
    expect(url.origin).toBe(upstream.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
    const cookie = String(([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('gatehouse_sso=')));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/auth\/sso\/upstream\//);
    // The verifier and state are sealed: neither is readable in the cookie.
    expect(cookie).not.toContain(url.searchParams.get('state')!);
    expect((await t.app.inject({ method: 'GET', url: '/auth/sso/nope/start' })).statusCode).toBe(404);
  });

  it('WEB-03: start accepts redirect_to only on this origin (or CORS_ORIGINS) and answers 400 otherwise, starting no flow', async () => {
    for (const good of ['/ui/account', 'http://gatehouse.test/somewhere?x=1']) {
      const res = await t.app.inject({ method: 'GET', url: `/auth/sso/upstream/start?redirect_to=${encodeURIComponent(good)}` });
      expect(res.statusCode, good).toBe(303);
    }
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'http://user:pw@gatehouse.test/', 'http://[bad']) {
      const res = await t.app.inject({ method: 'GET', url: `/auth/sso/upstream/start?redirect_to=${encodeURIComponent(bad)}` });
      expect(res.statusCode, bad).toBe(400);
      expect(problemOf(res).errors?.[0]?.field).toBe('redirect_to');
      expect(res.headers['set-cookie'], bad).toBeUndefined();
    }
  });

  it('FED-01: a new upstream account gets a user (no password, address verified on the provider’s word) and Gatehouse tokens; the sub is stable', async () => {
    upstream.signInAs('up-alice');
    const first = await signInThrough(t, 'upstream');
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json() as { access_token: string; refresh_token: string; user: { id: string; username: string; email: string } };
    expect(body.refresh_token).toBeTruthy();
    const sub = decode(body.access_token.split('.')[1]!).sub;
    expect(sub).toBe(body.user.id);
    const user = (await userByEmail('alice@example.com'))!;
    expect(user).toMatchObject({ username: 'alice', emailVerified: true, passwordHash: NO_PASSWORD, name: 'Alice Upstream' });
    const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${body.access_token}` } });
    expect(me.statusCode).toBe(200);

    const again = await signInThrough(t, 'upstream');
    expect(again.statusCode).toBe(200);
    expect(decode((again.json() as { access_token: string }).access_token.split('.')[1]!).sub).toBe(sub);
    const signedIn = await auditOf('sso.signed_in');
    expect(signedIn.map((e) => e.details.created)).toEqual([false, true]);
    expect((await auditOf('user.created')).some((e) => e.subjectId === user.id && e.details.provider === 'upstream')).toBe(true);
  });

  it('a user without a password: password login fails like a wrong password, password change says why, password reset still works', async () => {
    const user = (await userByEmail('alice@example.com'))!;
    for (const password of ['', PASSWORD]) {
      const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: 'alice', password: password || 'x' } });
      expect(res.statusCode).toBe(401);
      expect(problemOf(res).code).toBe('ERR_AUTH_INVALID_CREDENTIALS');
    }
    expect((await auditOf('login.failed')).find((e) => e.subjectId === user.id)?.details.reason).toBe('no_password');
    upstream.signInAs('up-alice');
    const { access_token } = (await signInThrough(t, 'upstream')).json() as { access_token: string };
    const change = await t.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: { authorization: `Bearer ${access_token}` },
      payload: { current_password: 'anything at all', new_password: 'a brand new passphrase' },
    });
    expect(change.statusCode).toBe(400);
    expect(problemOf(change).errors?.[0]?.field).toBe('current_password');
    const forgot = await t.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'alice@example.com' } });
    expect(forgot.statusCode).toBe(202);
  });

  it('FED-02: an unverified upstream address equal to a local account never signs into it nor links to it', async () => {
    const victim = await signUp(t, { username: 'victim' });
    // The local address is verified: only the upstream side is missing.
    await t.storage.users.update(victim.id, { emailVerified: true, updatedAt: Date.now() });
    await t.storage.users.update(victim.id, { email: 'victim@example.com', updatedAt: Date.now() });
    upstream.signInAs('up-mallory');
    const res = await signInThrough(t, 'upstream');
    expect(res.statusCode).toBe(403);
    expect(problemOf(res).code).toBe('ERR_SSO_NO_EMAIL');
    expect(res.body).not.toContain('access_token');
    expect(await t.storage.identities.listForUser(victim.id)).toEqual([]);
    expect(await t.storage.identities.findBySubject('upstream', upstream.issuer, 'up-mallory')).toBeNull();
    const sessions = await t.storage.sessions.listActiveForUser(victim.id, Date.now());
    expect(sessions).toHaveLength(1); // only the password login of signUp
    expect((await auditOf('sso.refused')).some((e) => e.details.reason === 'no_email' && e.details.detail === 'upstream address not verified')).toBe(true);
  });

  it('FED-02: a verified upstream address joins the local account only when the local address is verified too', async () => {
    const vera = await signUp(t, { username: 'vera_local' });
    await t.storage.users.update(vera.id, { email: 'vera@example.com', updatedAt: Date.now() });
    upstream.signInAs('up-vera');
    const unverifiedLocal = await signInThrough(t, 'upstream');
    expect(unverifiedLocal.statusCode).toBe(409);
    expect(problemOf(unverifiedLocal).code).toBe('ERR_SSO_LINK_REQUIRED');

    await t.storage.users.update(vera.id, { emailVerified: true, updatedAt: Date.now() });
    const joined = await signInThrough(t, 'upstream');
    expect(joined.statusCode).toBe(200);
    expect((joined.json() as { user: { id: string } }).user.id).toBe(vera.id);
    expect((await t.storage.identities.listForUser(vera.id)).map((i) => i.subject)).toEqual(['up-vera']);
    expect((await auditOf('sso.linked')).some((e) => e.subjectId === vera.id && e.details.automatic === true)).toBe(true);
    // A new way in is never silent: the account's address hears of it.
    const [notice, ...more] = await queued(t, { to: 'vera@example.com', kind: 'identity_linked' });
    expect(more).toEqual([]);
    expect(notice!.text).toContain('Test IdP');
    expect(notice!.text).toContain('http://gatehouse.test/ui/account');
  });

  it('ID-04: a derived username is never a look-alike of a taken one', async () => {
    // "аlice" with a Cyrillic а: its skeleton is alice's, who signed up above.
    upstream.signInAs('up-lookalike');
    const res = await signInThrough(t, 'upstream');
    expect(res.statusCode).toBe(200);
    expect((res.json() as { user: { username: string } }).user.username).toBe('lookalike');
  });

  it('FED-02: an unverified upstream address with no local account makes no user either, with the same answer as when one exists (no pre-created account, no oracle)', async () => {
    const users = (await t.services.users.list({ limit: 100 })).items.length;
    upstream.signInAs('up-newbie');
    const res = await signInThrough(t, 'upstream');
    expect(res.statusCode).toBe(403);
    upstream.signInAs('up-mallory'); // victim@example.com has a local account
    const existing = await signInThrough(t, 'upstream');
    const { instance: _a, ...free } = problemOf(res) as unknown as Record<string, unknown>;
    const { instance: _b, ...taken } = problemOf(existing) as unknown as Record<string, unknown>;
    expect(free).toEqual(taken);
    expect(free.code).toBe('ERR_SSO_NO_EMAIL');
    expect(await userByEmail('newbie@example.com')).toBeNull();
    expect(await t.storage.identities.findBySubject('upstream', upstream.issuer, 'up-newbie')).toBeNull();
    expect((await t.services.users.list({ limit: 100 })).items.length).toBe(users);
  });

  it('links from the account page, lists identities, unlinks with recent auth, never the last way to sign in', async () => {
    const bob = await signUp(t, { username: 'bob' });
    const auth = { authorization: `Bearer ${bob.accessToken}` };
    upstream.signInAs('up-mallory');
    const start = await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: auth });
    expect(start.statusCode).toBe(200);
    // IN-01: the link takes no body; anything in one is refused, and no flow starts.
    const withBody = await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: auth, payload: { user_id: 'someone-else' } });
    expect(withBody.statusCode).toBe(400);
    expect(withBody.headers['set-cookie']).toBeUndefined();
    for (const empty of [undefined, {}]) {
      expect((await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: auth, payload: empty })).statusCode).toBe(200);
    }
    const linked = await signInThrough(t, 'upstream', { start });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(linked.json()).toMatchObject({ linked: { provider: 'upstream', email: 'victim@example.com' } });
    expect((await auditOf('sso.linked')).some((e) => e.subjectId === bob.id && e.details.automatic === false)).toBe(true);
    expect((await queued(t, { to: bob.email, kind: 'identity_linked' })).map((m) => m.subject)).toEqual(['A new way to sign in to your Gatehouse account']);

    // Now the upstream account signs in to bob (linked by bob himself, so the address does not matter).
    const signIn = await signInThrough(t, 'upstream');
    expect((signIn.json() as { user: { id: string } }).user.id).toBe(bob.id);

    // Someone else cannot link the same upstream account.
    const carol = await signUp(t, { username: 'carol' });
    const taken = await signInThrough(t, 'upstream', { start: await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: carol.auth }) });
    expect(taken.statusCode).toBe(409);
    expect(problemOf(taken).code).toBe('ERR_SSO_IDENTITY_TAKEN');

    const list = await t.app.inject({ method: 'GET', url: '/auth/identities', headers: auth });
    expect(list.statusCode).toBe(200);
    const [identity] = (list.json() as { items: { id: string; provider: string }[] }).items;
    expect(identity).toMatchObject({ provider: 'upstream' });
    expect((await t.app.inject({ method: 'GET', url: '/auth/identities', headers: carol.auth })).json()).toEqual({ items: [] });
    // Not carol's to remove.
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/identities/${identity!.id}`, headers: carol.auth })).statusCode).toBe(404);

    // An old sign-in is not enough to unlink.
    t.clock.advance(10 * 60_000);
    const stale = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: bob.refreshToken } });
    const staleAuth = { authorization: `Bearer ${(stale.json() as { access_token: string }).access_token}` };
    const refused = await t.app.inject({ method: 'DELETE', url: `/auth/identities/${identity!.id}`, headers: staleAuth });
    expect(refused.statusCode).toBe(401);
    expect(problemOf(refused).code).toBe('ERR_AUTH_STEP_UP_REQUIRED');
    expect(String(refused.headers['www-authenticate'])).toContain('insufficient_user_authentication');
    expect(await t.storage.identities.listForUser(bob.id)).toHaveLength(1);
    // Nor to link one more (a stolen token must not add the thief's own way in).
    const staleLink = await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: staleAuth });
    expect(staleLink.statusCode).toBe(401);
    expect(problemOf(staleLink).code).toBe('ERR_AUTH_STEP_UP_REQUIRED');
    expect(staleLink.headers['set-cookie']).toBeUndefined();

    const fresh = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: 'bob', password: PASSWORD } });
    const freshAuth = { authorization: `Bearer ${(fresh.json() as { access_token: string }).access_token}` };
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/identities/${identity!.id}`, headers: freshAuth })).statusCode).toBe(204);
    expect(await t.storage.identities.listForUser(bob.id)).toEqual([]);
    expect((await auditOf('sso.unlinked')).some((e) => e.subjectId === bob.id)).toBe(true);

    // alice has no password: her one identity is her only way in (she just authenticated upstream).
    upstream.signInAs('up-alice');
    upstream.authenticatedAt(t.clock.now());
    const alice = (await signInThrough(t, 'upstream')).json() as { access_token: string; user: { id: string } };
    upstream.authenticatedAt(null);
    const [only] = await t.storage.identities.listForUser(alice.user.id);
    const last = await t.app.inject({ method: 'DELETE', url: `/auth/identities/${only!.id}`, headers: { authorization: `Bearer ${alice.access_token}` } });
    expect(last.statusCode).toBe(409);
    expect(problemOf(last).code).toBe('ERR_LAST_SIGN_IN_METHOD');
    expect(await t.storage.identities.listForUser(alice.user.id)).toHaveLength(1);
  });

  it('MFA-05/FED-01: a federated session counts as a recent sign-in only when the provider says the user authenticated recently (auth_time)', async () => {
    const carlos = await signUp(t, { username: 'carlos' });
    upstream.signInAs('up-newbie');
    const link = await signInThrough(t, 'upstream', { start: await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: carlos.auth }) });
    expect(link.statusCode, link.body).toBe(200);
    const { id } = (link.json() as { linked: { id: string } }).linked;
    const unlinkWith = async (authenticatedAt: number | null) => {
      upstream.authenticatedAt(authenticatedAt);
      const res = await signInThrough(t, 'upstream');
      expect(res.statusCode, res.body).toBe(200);
      const { access_token } = res.json() as { access_token: string };
      // Unlinking wants a recent sign-in (carlos keeps his password, so it is not his last way in).
      return t.app.inject({ method: 'DELETE', url: `/auth/identities/${id}`, headers: { authorization: `Bearer ${access_token}` } });
    };
    try {
      // The provider signed carlos in from a session of its own an hour ago: no proof now.
      const old = await unlinkWith(t.clock.now() - 3_600_000);
      expect(old.statusCode).toBe(401);
      expect(String(old.headers['www-authenticate'])).toContain('insufficient_user_authentication');
      // A time in the future is no proof either.
      expect((await unlinkWith(t.clock.now() + 3_600_000)).statusCode).toBe(401);
      expect(await t.storage.identities.listForUser(carlos.id)).toHaveLength(1);
      // Authenticated at the provider just now: recent.
      expect((await unlinkWith(t.clock.now() - 1000)).statusCode).toBe(204);
      expect(await t.storage.identities.listForUser(carlos.id)).toEqual([]);
    } finally {
      upstream.authenticatedAt(null);
    }
  });

  it('FED-02: a linked identity is (provider, issuer, subject): the provider id re-pointed to another issuer does not sign in as the old one; a removed provider is no way to sign in', async () => {
    // "upstream" used to point at another issuer, where the same subject was someone else.
    const owner = await signUp(t, { username: 'oldowner' });
    const old = {
      id: newId(t.clock.now()),
      userId: owner.id,
      provider: 'upstream',
      issuer: 'https://gitlab.example',
      subject: 'up-repointed',
      email: 'owner@example.com',
      createdAt: 0,
      lastUsedAt: 0,
    };
    await t.storage.identities.link(old);
    upstream.signInAs('up-repointed');
    upstream.authenticatedAt(t.clock.now());
    try {
      const res = await signInThrough(t, 'upstream');
      expect(res.statusCode, res.body).toBe(200);
      const { access_token, user } = res.json() as { access_token: string; user: { id: string } };
      expect(user.id).not.toBe(owner.id);
      expect((await t.storage.identities.findBySubject('upstream', upstream.issuer, 'up-repointed'))?.userId).toBe(user.id);
      expect(await t.storage.identities.findBySubject('upstream', 'https://gitlab.example', 'up-repointed')).toEqual(old);

      // The new user (no password) also has an identity of a provider no longer configured: it signs
      // nobody in, so the configured one is still the last way in.
      await t.storage.identities.link({ ...old, id: newId(t.clock.now()), userId: user.id, provider: 'removed', issuer: 'https://removed.example' });
      const [mine] = (await t.storage.identities.listForUser(user.id)).filter((i) => i.provider === 'upstream');
      const last = await t.app.inject({ method: 'DELETE', url: `/auth/identities/${mine!.id}`, headers: { authorization: `Bearer ${access_token}` } });
      expect(last.statusCode, last.body).toBe(409);
      expect(problemOf(last).code).toBe('ERR_LAST_SIGN_IN_METHOD');
    } finally {
      upstream.authenticatedAt(null);
    }
  });

  it('FED-02: a link is bound to the session that started it: signed out (or revoked) before the callback, nothing is linked and no mail goes out', async () => {
    const dora = await signUp(t, { username: 'dora' });
    upstream.signInAs('up-newbie'); // linked to nobody
    const start = await t.app.inject({ method: 'POST', url: '/auth/sso/upstream/link', headers: dora.auth });
    expect(start.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/auth/logout', headers: dora.auth })).statusCode).toBe(204);
    const res = await signInThrough(t, 'upstream', { start });
    expect(res.statusCode).toBe(400);
    expect(problemOf(res).code).toBe('ERR_SSO_FLOW_INVALID');
    expect(await t.storage.identities.listForUser(dora.id)).toEqual([]);
    expect(await queued(t, { to: dora.email, kind: 'identity_linked' })).toEqual([]);
    expect(await t.storage.identities.findBySubject('upstream', upstream.issuer, 'up-newbie')).toBeNull();
    expect((await auditOf('sso.refused')).some((e) => e.subjectId === dora.id && e.details.detail === 'the session that started the link ended')).toBe(true);
  });

  it('FED-01: a replayed callback, a tampered state, another provider’s flow or no flow cookie are refused', async () => {
    upstream.signInAs('up-alice');
    const start = await t.app.inject({ method: 'GET', url: '/auth/sso/upstream/start' });
    const callback = await followUpstream(String(start.headers.location), CALLBACK);
    const cookie = flowCookieOf(start);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')!.slice(0, -2)}xx`);
    const bad = await t.app.inject({ method: 'GET', url: `${tampered.pathname}${tampered.search}`, headers: { cookie } });
    expect(bad.statusCode).toBe(400);
    expect(problemOf(bad).code).toBe('ERR_SSO_FLOW_INVALID');

    const noCookie = await t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}` });
    expect(problemOf(noCookie).code).toBe('ERR_SSO_FLOW_INVALID');
    const forged = await t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie: 'gatehouse_sso=v1.abc.def.ghi' } });
    expect(problemOf(forged).code).toBe('ERR_SSO_FLOW_INVALID');

    // The tampered try used the flow up: the genuine callback after it gets nothing either.
    const replay = await t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie } });
    expect(replay.statusCode).toBe(400);
    expect(problemOf(replay).code).toBe('ERR_SSO_FLOW_INVALID');
    expect((await auditOf('sso.refused')).filter((e) => e.details.reason === 'flow').length).toBeGreaterThanOrEqual(4);
  });

  it('FED-03: keys rotated and the provider restarted: the next sign-in re-fetches the JWKS once, with no restart of Gatehouse', async () => {
    upstream.signInAs('up-alice');
    expect((await signInThrough(t, 'upstream')).statusCode).toBe(200);
    upstream.jwksRequests = 0;
    await upstream.restartWithNewKeys();
    // FED-03: re-fetches are rate limited: within a minute of the last fetch an unknown kid is
    // refused without asking the provider (a flood of forged kids cannot make us hammer it).
    const early = await signInThrough(t, 'upstream');
    expect(early.statusCode).toBe(403);
    expect(upstream.jwksRequests).toBe(0);
    // Past the minute: one fetch, and the new key is used from then on.
    const realNow = Date.now;
    const shift = 61_000;
    Date.now = () => realNow() + shift;
    try {
      const after = await signInThrough(t, 'upstream');
      expect(after.statusCode, after.body).toBe(200);
      expect(upstream.jwksRequests).toBe(1);
      expect((await signInThrough(t, 'upstream')).statusCode).toBe(200);
      expect(upstream.jwksRequests).toBe(1);
    } finally {
      Date.now = realNow;
    }
  });

  it('FED-03: the provider down: a clear 503, nothing created, and a sign-in afterwards works', async () => {
    upstream.signInAs('up-alice');
    const users = (await t.services.users.list({ limit: 100 })).items.length;
    const start = await t.app.inject({ method: 'GET', url: '/auth/sso/upstream/start' });
    const callback = await followUpstream(String(start.headers.location), CALLBACK);
    await upstream.close();
    const down = await t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie: flowCookieOf(start) } });
    expect(down.statusCode).toBe(503);
    expect(problemOf(down)).toMatchObject({ code: 'ERR_SSO_UNAVAILABLE', detail: 'The identity provider is not answering; try again later.' });
    expect((await t.services.users.list({ limit: 100 })).items.length).toBe(users);
    expect((await auditOf('sso.refused')).some((e) => e.details.reason === 'unavailable')).toBe(true);
  });
});

describe('federated sign-in in browser mode: every refusal lands on the page (FED-01)', () => {
  let upstream: OidcUpstream;
  let t: TestApp;

  beforeAll(async () => {
    upstream = await startOidcUpstream({
      accounts: [{ id: 'up-erin', email: 'erin@example.com', emailVerified: true, preferredUsername: 'erin' }],
      redirectUris: [CALLBACK],
    });
    t = await buildTestApp({
      REFRESH_COOKIE: 'true',
      EMAIL_VERIFICATION: 'required',
      SSO_PROVIDERS: JSON.stringify([{ id: 'upstream', name: 'Test IdP', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret }]),
    });
  }, 20_000);

  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('a refusal of the rest of the service (ERR_EMAIL_UNVERIFIED) leads to /ui/login?sso_error=<code>, is audited as sso.refused and clears the flow cookie', async () => {
    const first = await signInThrough(t, 'upstream');
    expect(first.statusCode, first.body).toBe(303);
    const erin = (await t.storage.users.findByEmail('erin@example.com'))!;
    // An admin changed her address since: unverified, and EMAIL_VERIFICATION=required.
    await t.storage.users.update(erin.id, { emailVerified: false, updatedAt: Date.now() });
    t.services.sessions.forgetUser(erin.id);
    const refused = await signInThrough(t, 'upstream');
    expect(refused.statusCode).toBe(303);
    expect(refused.headers.location).toBe('/ui/login?sso_error=ERR_EMAIL_UNVERIFIED');
    const cookies = ([] as string[]).concat(refused.headers['set-cookie'] ?? []);
    expect(cookies.some((c) => c.startsWith('gatehouse_sso=;') && /Max-Age=0/.test(c))).toBe(true);
    expect(cookies.some((c) => c.startsWith('gatehouse_refresh='))).toBe(false);
    const audit = (await t.services.audit.list({ limit: 50 })).items.filter((e) => e.type === 'sso.refused');
    expect(audit.map((e) => e.details.reason)).toEqual(['ERR_EMAIL_UNVERIFIED']);
  });
});
