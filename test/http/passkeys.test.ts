import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_PASSWORD } from '../../src/core/auth/sign-in-methods.js';
import { PASSWORD, buildTestApp, claimsOf, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { SoftAuthenticator, type Ceremony } from '../helpers/webauthn.js';

const ORIGIN = 'http://gatehouse.test';

describe('passkeys over HTTP with a software authenticator (MFA-06, MFA-07)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const post = (url: string, payload: object, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url, headers, payload });

  async function register(user: TestUser, authenticator: SoftAuthenticator, ceremony: Ceremony = { origin: ORIGIN }, name = 'Laptop') {
    const options = await post('/auth/webauthn/register/options', { name }, user.auth);
    expect(options.statusCode).toBe(200);
    const { challenge_id, options: creation } = options.json();
    return post('/auth/webauthn/register/verify', { challenge_id, attestation: authenticator.create(creation, ceremony) }, user.auth);
  }

  async function passkeyLogin(authenticator: SoftAuthenticator, ceremony: Ceremony = { origin: ORIGIN }) {
    const options = await post('/auth/webauthn/login/options', {});
    const { challenge_id, options: request } = options.json();
    return post('/auth/webauthn/login/verify', { challenge_id, assertion: authenticator.get(request, ceremony) });
  }

  it('MFA-06: registration asks for a resident key (preferred) and user verification (required); the passkey signs in with no username', async () => {
    const user = await signUp(t);
    const authenticator = new SoftAuthenticator();
    const options = (await post('/auth/webauthn/register/options', {}, user.auth)).json().options;
    expect(options).toMatchObject({ rp: { id: 'gatehouse.test' }, authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' } });
    const created = await register(user, authenticator);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ type: 'webauthn', name: 'Laptop', backup_eligible: false, backup_state: false });

    const request = (await post('/auth/webauthn/login/options', { login: user.username })).json();
    expect(request.options.allowCredentials ?? []).toEqual([]);
    expect(request.options.userVerification).toBe('required');
    const res = await post('/auth/webauthn/login/verify', { challenge_id: request.challenge_id, assertion: authenticator.get(request.options, { origin: ORIGIN }) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ amr: ['hwk', 'user'], user: { id: user.id } });
    expect(claimsOf(res.json().access_token)).toMatchObject({ sub: user.id, amr: ['hwk', 'user'], acr: 'aal2' });
    // MFA-06: the challenge was single-use.
    const replay = await post('/auth/webauthn/login/verify', { challenge_id: request.challenge_id, assertion: authenticator.get(request.options, { origin: ORIGIN }) });
    expect(replay.statusCode).toBe(401);
    expect(problemOf(replay).code).toBe('ERR_WEBAUTHN_REFUSED');
    const audit = await t.services.audit.list({ limit: 5, userId: user.id, type: 'passkey.login_succeeded' });
    expect(audit.items).toHaveLength(1);
  });

  it('MFA-06: refused without user verification, from another origin, with an expired challenge, and in registration without UV', async () => {
    const user = await signUp(t);
    const authenticator = new SoftAuthenticator();
    expect((await register(user, new SoftAuthenticator(), { origin: ORIGIN, userVerified: false })).statusCode).toBe(400);
    expect((await register(user, new SoftAuthenticator(), { origin: 'https://evil.example' })).statusCode).toBe(400);
    expect((await register(user, authenticator)).statusCode).toBe(201);

    expect((await passkeyLogin(authenticator, { origin: ORIGIN, userVerified: false })).statusCode).toBe(401);
    expect((await passkeyLogin(authenticator, { origin: 'https://evil.example' })).statusCode).toBe(401);
    expect((await passkeyLogin(authenticator, { origin: 'http://gatehouse.test:8080' })).statusCode).toBe(401);
    const options = (await post('/auth/webauthn/login/options', {})).json();
    t.clock.advance(2 * 60_000 + 1);
    expect((await post('/auth/webauthn/login/verify', { challenge_id: options.challenge_id, assertion: authenticator.get(options.options, { origin: ORIGIN }) })).statusCode).toBe(
      401,
    );
    expect((await passkeyLogin(authenticator)).statusCode).toBe(200);
    const failures = await t.services.audit.list({ limit: 10, userId: user.id, type: 'passkey.login_failed' });
    expect(failures.items.length).toBeGreaterThanOrEqual(3);
  });

  it('MFA-06: a replayed or regressed sign counter is refused and audited; a synced passkey with counter 0 is not', async () => {
    const user = await signUp(t);
    const authenticator = new SoftAuthenticator();
    await register(user, authenticator);
    expect((await passkeyLogin(authenticator)).statusCode).toBe(200); // counter 2
    const used = authenticator.credentials[0]!.counter;
    expect((await passkeyLogin(authenticator, { origin: ORIGIN, counter: used })).statusCode).toBe(401);
    expect((await passkeyLogin(authenticator, { origin: ORIGIN, counter: used - 1 })).statusCode).toBe(401);
    const regressed = await t.services.audit.list({ limit: 5, userId: user.id, type: 'passkey.counter_regressed' });
    expect(regressed.items.map((e) => e.details.presented)).toEqual([used - 1, used]);
    expect((await passkeyLogin(authenticator)).statusCode).toBe(200);

    const synced = new SoftAuthenticator(true);
    const other = await signUp(t);
    const created = await register(other, synced);
    expect(created.json()).toMatchObject({ backup_eligible: true, backup_state: true });
    for (let i = 0; i < 2; i++) expect((await passkeyLogin(synced)).statusCode).toBe(200);
  });

  it('MFA-06: a backup-eligible passkey reporting 0 after a counter is accepted and the stored count kept; any other non-increase is refused', async () => {
    const user = await signUp(t);
    const synced = new SoftAuthenticator(true);
    const { id } = (await register(user, synced)).json();
    expect((await passkeyLogin(synced, { origin: ORIGIN, counter: 5 })).statusCode).toBe(200);
    expect((await passkeyLogin(synced, { origin: ORIGIN, counter: 0 })).statusCode).toBe(200);
    expect((await t.storage.factors.findById(id))?.signCount).toBe(5);
    expect((await passkeyLogin(synced, { origin: ORIGIN, counter: 3 })).statusCode).toBe(401);
    // A device-bound passkey that drops to 0 is a clone.
    const bound = new SoftAuthenticator();
    const other = await signUp(t);
    await register(other, bound);
    expect((await passkeyLogin(bound)).statusCode).toBe(200);
    expect((await passkeyLogin(bound, { origin: ORIGIN, counter: 0 })).statusCode).toBe(401);
    const regressed = await t.services.audit.list({ limit: 5, userId: other.id, type: 'passkey.counter_regressed' });
    expect(regressed.items[0]?.details).toMatchObject({ presented: 0 });
  });

  it('MFA-06, MFA-08: a passkey as the second factor after the password; another user’s passkey does not count', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const aliceKey = new SoftAuthenticator();
    const bobKey = new SoftAuthenticator();
    await register(alice, aliceKey);
    await register(bob, bobKey);
    const first = await post('/auth/login', { login: alice.username, password: PASSWORD });
    const step = first.json();
    expect(step).toMatchObject({ mfa_required: true, methods: ['webauthn'] });
    expect(step.webauthn.options.allowCredentials).toEqual([{ id: aliceKey.credentials[0]!.id.toString('base64url'), type: 'public-key', transports: ['internal'] }]);
    // Bob's passkey answering Alice's step: refused.
    const wrongUser = await post('/auth/mfa/verify', {
      mfa_token: step.mfa_token,
      challenge_id: step.webauthn.challenge_id,
      assertion: bobKey.get({ ...step.webauthn.options, allowCredentials: [] }, { origin: ORIGIN }),
    });
    expect(wrongUser.statusCode).toBe(401);
    // The challenge is spent; fresh options for the same step.
    const retry = (await post('/auth/webauthn/login/options', { mfa_token: step.mfa_token })).json();
    const ok = await post('/auth/mfa/verify', { mfa_token: step.mfa_token, challenge_id: retry.challenge_id, assertion: aliceKey.get(retry.options, { origin: ORIGIN }) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().amr).toEqual(['pwd', 'hwk', 'user', 'mfa']);
    const used = await t.services.audit.list({ limit: 5, userId: alice.id, type: 'mfa.succeeded' });
    expect(used.items[0]?.details).toMatchObject({ method: 'webauthn' });
    expect((await t.services.audit.list({ limit: 5, userId: alice.id, type: 'passkey.login_failed' })).items).toHaveLength(1);

    // Reauthentication with the passkey.
    t.clock.advance(6 * 60_000);
    const options = (await post('/auth/webauthn/login/options', {})).json();
    const token = { authorization: `Bearer ${ok.json().access_token}` };
    const reauth = await post('/auth/reauthenticate', { challenge_id: options.challenge_id, assertion: aliceKey.get(options.options, { origin: ORIGIN }) }, token);
    expect(reauth.statusCode).toBe(200);
    expect(claimsOf(reauth.json().access_token)).toMatchObject({ amr: ['hwk', 'user'], auth_time: Math.floor(t.clock.now() / 1000) });
    const bobOptions = (await post('/auth/webauthn/login/options', {})).json();
    const foreign = await post('/auth/reauthenticate', { challenge_id: bobOptions.challenge_id, assertion: bobKey.get(bobOptions.options, { origin: ORIGIN }) }, token);
    expect(foreign.statusCode).toBe(401);
  });

  it('MFA-07: the last way to sign in cannot be removed', async () => {
    const user = await signUp(t);
    const keys = [new SoftAuthenticator(), new SoftAuthenticator()];
    const ids: string[] = [];
    for (const key of keys) ids.push((await register(user, key)).json().id);
    // Without a password, the passkeys are all that is left.
    await t.storage.users.update(user.id, { passwordHash: NO_PASSWORD, updatedAt: t.clock.now() });
    t.services.sessions.forgetUser(user.id);
    expect(await t.services.signInMethods.count((await t.storage.users.findById(user.id))!)).toBe(2);
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/mfa/${ids[0]}`, headers: user.auth })).statusCode).toBe(204);
    const last = await t.app.inject({ method: 'DELETE', url: `/auth/mfa/${ids[1]}`, headers: user.auth });
    expect(last.statusCode).toBe(409);
    expect(problemOf(last).code).toBe('ERR_LAST_SIGN_IN_METHOD');
    expect((await passkeyLogin(keys[1]!)).statusCode).toBe(200);
    // Nor can a password-less user sign in with an empty password.
    expect((await post('/auth/login', { login: user.username, password: '!' })).statusCode).toBe(401);
  });

  it('MFA-07: an admin reset is refused when it would leave a password-less user with no way to sign in', async () => {
    const admin = await signUp(t, { admin: true });
    const user = await signUp(t);
    const key = new SoftAuthenticator();
    expect((await register(user, key)).statusCode).toBe(201);
    await t.storage.users.update(user.id, { passwordHash: NO_PASSWORD, updatedAt: t.clock.now() });
    t.services.sessions.forgetUser(user.id);
    const res = await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: admin.auth });
    expect(res.statusCode).toBe(409);
    expect(problemOf(res).code).toBe('ERR_LAST_SIGN_IN_METHOD');
    expect((await passkeyLogin(key)).statusCode).toBe(200);
  });

  it('MFA-08: a passkey sign-in follows EMAIL_VERIFICATION=required like the password', async () => {
    const strict = await buildTestApp({ EMAIL_VERIFICATION: 'required' });
    try {
      const username = `unverified_${Date.now()}`;
      expect((await strict.app.inject({ method: 'POST', url: '/auth/register', payload: { username, email: `${username}@example.com`, password: PASSWORD } })).statusCode).toBe(
        201,
      );
      const stored = (await strict.storage.users.findByUsername(username))!;
      // Verified while the passkey is added, then the address is unverified again (a change of address).
      await strict.storage.users.update(stored.id, { emailVerified: true, updatedAt: strict.clock.now() });
      strict.services.users.forget(stored.id);
      const login = await strict.app.inject({ method: 'POST', url: '/auth/login', payload: { login: username, password: PASSWORD } });
      const user = { id: stored.id, auth: { authorization: `Bearer ${login.json().access_token}` } };
      const key = new SoftAuthenticator();
      const options = (await strict.app.inject({ method: 'POST', url: '/auth/webauthn/register/options', headers: user.auth, payload: {} })).json();
      const created = await strict.app.inject({
        method: 'POST',
        url: '/auth/webauthn/register/verify',
        headers: user.auth,
        payload: { challenge_id: options.challenge_id, attestation: key.create(options.options, { origin: ORIGIN }) },
      });
      expect(created.statusCode).toBe(201);
      await strict.storage.users.update(user.id, { emailVerified: false, updatedAt: strict.clock.now() });
      strict.services.sessions.forgetUser(user.id);
      strict.services.users.forget(user.id);
      const request = (await strict.app.inject({ method: 'POST', url: '/auth/webauthn/login/options', payload: {} })).json();
      const res = await strict.app.inject({
        method: 'POST',
        url: '/auth/webauthn/login/verify',
        payload: { challenge_id: request.challenge_id, assertion: key.get(request.options, { origin: ORIGIN }) },
      });
      expect(res.json().access_token).toBeUndefined();
      expect(problemOf(res).code).toBe('ERR_EMAIL_UNVERIFIED');
      const failed = await strict.services.audit.list({ limit: 5, userId: user.id, type: 'login.failed' });
      expect(failed.items[0]?.details).toMatchObject({ reason: 'email_unverified', method: 'webauthn' });
    } finally {
      await strict.close();
    }
  });
});
