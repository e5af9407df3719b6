import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDriver } from '../../src/storage/open.js';
import { PASSWORD, buildTestApp, claimsOf, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { lastMail } from '../helpers/mail.js';
import { enrolTotp, totpCode } from '../helpers/mfa.js';

const MINUTE = 60_000;

describe('TOTP, recovery codes and the second step of a sign-in', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-mfa-'));
    t = await buildTestApp({ DATABASE_URL: `sqlite:${join(dir, 'mfa.db')}`, EMAIL_SIGN_IN: 'on', EMAIL_VERIFICATION: 'optional' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url, headers, payload });
  const login = (user: TestUser, password = PASSWORD) => post('/auth/login', { login: user.username, password });
  /** A login that stops at the second step: its mfa_token. */
  const firstStep = async (user: TestUser): Promise<string> => {
    const res = await login(user);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ mfa_required: true, methods: expect.arrayContaining(['totp']) });
    expect(body.access_token).toBeUndefined();
    expect(body.refresh_token).toBeUndefined();
    return body.mfa_token;
  };
  /** Moves the clock to the start of a fresh 30 s step, so codes of "this step" are unambiguous. */
  const nextStep = () => t.clock.set((Math.floor(t.clock.now() / 30_000) + 1) * 30_000 + 1000);

  it('MFA-01: enrolment shows a 160-bit secret, an otpauth URI and a QR code once; a first code confirms it; ten recovery codes come with it', async () => {
    const user = await signUp(t);
    const start = await post('/auth/mfa/totp', { name: 'Phone' }, user.auth);
    expect(start.statusCode).toBe(201);
    const body = start.json();
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/); // 32 base32 characters: 160 bits
    expect(body.otpauth_uri).toMatch(new RegExp(`^otpauth://totp/.*${user.username}.*secret=${body.secret}`));
    expect(body.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    // Pending until confirmed: not listed, not asked for at login.
    expect((await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: user.auth })).json().items).toEqual([]);
    expect((await login(user)).json().access_token).toBeDefined();

    const wrong = await post(`/auth/mfa/totp/${body.id}/confirm`, { code: totpCode(body.secret, t.clock.now(), 5) }, user.auth);
    expect(wrong.statusCode).toBe(400);
    const ok = await post(`/auth/mfa/totp/${body.id}/confirm`, { code: totpCode(body.secret, t.clock.now()) }, user.auth);
    expect(ok.statusCode).toBe(200);
    const codes: string[] = ok.json().recovery_codes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const list = await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: user.auth });
    expect(list.json()).toMatchObject({ items: [{ id: body.id, type: 'totp', name: 'Phone' }], recovery_codes_left: 10 });
    expect(list.body).not.toContain(body.secret);
    // Confirming twice is not a way to get more recovery codes.
    expect((await post(`/auth/mfa/totp/${body.id}/confirm`, { code: totpCode(body.secret, t.clock.now()) }, user.auth)).statusCode).toBe(404);

    // Neither the secret nor any recovery code is stored in the clear anywhere in the database.
    const driver = openDriver(`sqlite:${join(dir, 'mfa.db')}`);
    try {
      const dump = JSON.stringify(
        await Promise.all(['mfa_factors', 'recovery_codes', 'auth_challenges', 'audit_events', 'settings'].map((table) => driver.all(`SELECT * FROM ${table}`))),
      );
      expect(dump).toContain(body.id);
      for (const secret of [body.secret, ...codes, ...codes.map((c) => c.replace(/-/g, ''))]) expect(dump).not.toContain(secret);
      // MFA-03: keyed and bound to the user: neither the code's plain SHA-256 (any encoding) nor the old prefixed one.
      const stored = (await driver.all<{ code_hash: string }>('SELECT code_hash FROM recovery_codes WHERE user_id = ?', [user.id])).map((r) => r.code_hash);
      expect(stored).toHaveLength(10);
      for (const code of codes) {
        const canonical = code.replace(/-/g, '');
        for (const plain of [code, canonical, `gatehouse-recovery:${canonical}`, `${user.id}:${canonical}`]) {
          for (const encoding of ['hex', 'base64', 'base64url'] as const) expect(stored).not.toContain(createHash('sha256').update(plain).digest(encoding));
        }
      }
    } finally {
      await driver.close();
    }
    const enrolled = await t.services.audit.list({ limit: 5, userId: user.id, type: 'mfa.enrolled' });
    expect(enrolled.items[0]?.details).toMatchObject({ factor_id: body.id, type: 'totp' });
  });

  it('MFA-01, MFA-04: login answers mfa_required; the current code and ±1 step are accepted, ±2 are not, and a code is good once', async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    // Well past the step the enrolment's code used, which counts as used.
    t.clock.advance(2 * MINUTE);
    nextStep();
    for (const steps of [2, -2]) {
      const res = await post('/auth/mfa/verify', { mfa_token: await firstStep(user), code: totpCode(secret, t.clock.now(), steps) });
      expect(res.statusCode, `${steps} steps`).toBe(401);
      expect(problemOf(res).code).toBe('ERR_MFA_INVALID_CODE');
    }
    // -1, then 0, then +1: each a later step than the one before.
    for (const steps of [-1, 0, 1]) {
      const res = await post('/auth/mfa/verify', { mfa_token: await firstStep(user), code: totpCode(secret, t.clock.now(), steps) });
      expect(res.statusCode, `${steps} steps`).toBe(200);
      const body = res.json();
      expect(body.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(claimsOf(body.access_token)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'aal2', sub: user.id });
      // The code just used is refused from now on, in this step and after.
      const replay = await post('/auth/mfa/verify', { mfa_token: await firstStep(user), code: totpCode(secret, t.clock.now(), steps) });
      expect(replay.statusCode, `replay of ${steps}`).toBe(401);
    }
    const used = await t.services.audit.list({ limit: 20, userId: user.id, type: 'mfa.failed' });
    expect(used.items.length).toBeGreaterThanOrEqual(5);
  });

  it('MFA-01: the same code sent twice at once passes once', async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    nextStep();
    const tokens = [await firstStep(user), await firstStep(user)];
    const code = totpCode(secret, t.clock.now());
    const answers = await Promise.all(tokens.map((mfa_token) => post('/auth/mfa/verify', { mfa_token, code })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 401]);
  });

  it('MFA-02: 50 concurrent wrong codes are stopped at the budget', async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    const mfaToken = await firstStep(user);
    const right = totpCode(secret, t.clock.now());
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const answers = await Promise.all(Array.from({ length: 50 }, () => post('/auth/mfa/verify', { mfa_token: mfaToken, code: wrong })));
    const counts = answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.statusCode]: (acc[a.statusCode] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 401: 5, 429: 45 });
    expect(answers.find((a) => a.statusCode === 429)!.headers['retry-after']).toBeDefined();
    // Even the right code waits for the budget to come back.
    nextStep();
    expect((await post('/auth/mfa/verify', { mfa_token: mfaToken, code: totpCode(secret, t.clock.now()) })).statusCode).toBe(429);
    t.clock.advance(4 * MINUTE); // the mfa_token still lives; the 15-minute budget window does not end yet
    expect((await post('/auth/mfa/verify', { mfa_token: mfaToken, code: totpCode(secret, t.clock.now()) })).statusCode).toBe(429);
  });

  it('MFA-03: each recovery code works once; new codes void the old ones (recent auth)', async () => {
    const user = await signUp(t);
    const { recoveryCodes } = await enrolTotp(t, user);
    const first = await post('/auth/mfa/verify', { mfa_token: await firstStep(user), recovery_code: recoveryCodes[0]!.toLowerCase() });
    expect(first.statusCode).toBe(200);
    expect(first.json().amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await post('/auth/mfa/verify', { mfa_token: await firstStep(user), recovery_code: recoveryCodes[0]! })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: user.auth })).json().recovery_codes_left).toBe(9);

    t.clock.advance(6 * MINUTE);
    const session = first.json().access_token;
    const stale = await post('/auth/mfa/recovery-codes', {}, { authorization: `Bearer ${session}` });
    expect(stale.statusCode).toBe(401);
    expect(stale.headers['www-authenticate']).toContain('insufficient_user_authentication');
    const reauth = await post('/auth/reauthenticate', { recovery_code: recoveryCodes[1]! }, { authorization: `Bearer ${session}` });
    expect(reauth.statusCode).toBe(200);
    expect(reauth.json().amr).toEqual(['otp']);
    const fresh = await post('/auth/mfa/recovery-codes', {}, { authorization: `Bearer ${reauth.json().access_token}` });
    expect(fresh.statusCode).toBe(200);
    const next: string[] = fresh.json().recovery_codes;
    expect(next).toHaveLength(10);
    expect((await post('/auth/mfa/verify', { mfa_token: await firstStep(user), recovery_code: recoveryCodes[2]! })).statusCode).toBe(401);
    expect((await post('/auth/mfa/verify', { mfa_token: await firstStep(user), recovery_code: next[0]! })).statusCode).toBe(200);
  });

  it('MFA-04: the mfa_token is single-use, lives 5 minutes, is bound to its user and password, and is no access token', async () => {
    const user = await signUp(t);
    const { secret, recoveryCodes } = await enrolTotp(t, user);
    nextStep();
    const token = await firstStep(user);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refresh_token: token })).statusCode).toBe(401);
    expect((await post('/auth/mfa/verify', { mfa_token: token, code: totpCode(secret, t.clock.now()) })).statusCode).toBe(200);
    nextStep();
    const again = await post('/auth/mfa/verify', { mfa_token: token, code: totpCode(secret, t.clock.now()) });
    expect(again.statusCode).toBe(401);
    expect(problemOf(again).code).toBe('ERR_MFA_TOKEN_INVALID');

    const late = await firstStep(user);
    t.clock.advance(5 * MINUTE + 1000);
    nextStep();
    expect(problemOf(await post('/auth/mfa/verify', { mfa_token: late, code: totpCode(secret, t.clock.now()) })).code).toBe('ERR_MFA_TOKEN_INVALID');

    // Bound to the password step: a password changed since voids it.
    const pending = await firstStep(user);
    const reauth = await post('/auth/reauthenticate', { recovery_code: recoveryCodes[0]! }, user.auth);
    const changed = await post('/auth/password', { current_password: PASSWORD, new_password: 'a brand new passphrase' }, { authorization: `Bearer ${reauth.json().access_token}` });
    expect(changed.statusCode).toBe(204);
    nextStep();
    expect(problemOf(await post('/auth/mfa/verify', { mfa_token: pending, code: totpCode(secret, t.clock.now()) })).code).toBe('ERR_MFA_TOKEN_INVALID');
    // A tampered secret part names nothing.
    const other = await signUp(t);
    await enrolTotp(t, other);
    const otherToken = await firstStep(other);
    const forged = `${otherToken.split('.')[0]}.${token.split('.')[1]}`;
    nextStep();
    expect((await post('/auth/mfa/verify', { mfa_token: forged, code: totpCode(secret, t.clock.now()) })).statusCode).toBe(401);
  });

  it('MFA-08: the password grant answers mfa_required; sign-in by email asks for the factor; a reset yields no tokens', async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    const grant = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&username=${user.username}&password=${encodeURIComponent(PASSWORD)}`,
    });
    expect(grant.statusCode).toBe(400);
    expect(grant.json()).toMatchObject({ error: 'mfa_required', mfa_token: expect.any(String), methods: ['totp', 'recovery_code'] });
    expect(grant.json().access_token).toBeUndefined();
    nextStep();
    const finished = await post('/auth/mfa/verify', { mfa_token: grant.json().mfa_token, code: totpCode(secret, t.clock.now()) });
    expect(finished.statusCode).toBe(200);

    expect((await post('/auth/email/sign-in', { email: user.email })).statusCode).toBe(202);
    const mail = await lastMail(t, user.email, 'sign_in');
    const code = /\b(\d{3} ?\d{3})\b/.exec(mail.text)![1]!.replace(' ', '');
    const byMail = await post('/auth/email/sign-in/verify', { email: user.email, code });
    expect(byMail.statusCode).toBe(200);
    expect(byMail.json()).toMatchObject({ mfa_required: true });
    expect(byMail.json().access_token).toBeUndefined();
    nextStep();
    const done = await post('/auth/mfa/verify', { mfa_token: byMail.json().mfa_token, code: totpCode(secret, t.clock.now()) });
    expect(done.json().amr).toEqual(['otp', 'mfa']);

    expect((await post('/auth/password/forgot', { email: user.email })).statusCode).toBe(202);
    const reset = await post('/auth/password/reset', {
      token: (await lastMail(t, user.email, 'reset_password')).text.match(/#token=([A-Za-z0-9_.-]+)/)![1],
      new_password: 'an entirely new passphrase',
    });
    expect(reset.statusCode).toBe(204);
    expect(reset.body).toBe('');
    // The new password still stops at the second step.
    const after = await post('/auth/login', { login: user.username, password: 'an entirely new passphrase' });
    expect(after.json()).toMatchObject({ mfa_required: true });
  });

  it('MFA-07: enrolling and removing need recent auth; removal is audited and the factor stops being asked for', async () => {
    const user = await signUp(t);
    const { id, recoveryCodes } = await enrolTotp(t, user);
    t.clock.advance(6 * MINUTE);
    expect((await post('/auth/mfa/totp', {}, user.auth)).statusCode).toBe(401);
    const stale = await t.app.inject({ method: 'DELETE', url: `/auth/mfa/${id}`, headers: user.auth });
    expect(stale.statusCode).toBe(401);
    expect(stale.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    const reauth = await post('/auth/reauthenticate', { recovery_code: recoveryCodes[0]! }, user.auth);
    const fresh = { authorization: `Bearer ${reauth.json().access_token}` };
    const other = await signUp(t);
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/mfa/${id}`, headers: other.auth })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/mfa/${id}`, headers: fresh })).statusCode).toBe(204);
    expect((await login(user)).json().access_token).toBeDefined();
    const removed = await t.services.audit.list({ limit: 5, userId: user.id, type: 'mfa.removed' });
    expect(removed.items[0]?.details).toMatchObject({ factor_id: id, type: 'totp' });
    // The recovery codes went with the last factor.
    expect((await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: fresh })).json().recovery_codes_left).toBe(0);
  });

  it("MFA-07: an admin resets a user's factors (admin only, recent auth, audited)", async () => {
    const admin = await signUp(t, { admin: true });
    const user = await signUp(t);
    await enrolTotp(t, user);
    expect((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: user.auth })).statusCode).toBe(403);
    t.clock.advance(6 * MINUTE);
    expect((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: admin.auth })).statusCode).toBe(401);
    const reauth = await post('/auth/reauthenticate', { password: PASSWORD }, admin.auth);
    const res = await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: { authorization: `Bearer ${reauth.json().access_token}` } });
    expect(res.statusCode).toBe(204);
    expect((await login(user)).json().access_token).toBeDefined();
    const audit = await t.services.audit.list({ limit: 5, userId: user.id, type: 'mfa.reset' });
    expect(audit.items[0]).toMatchObject({ actorId: admin.id, subjectId: user.id, details: { factors: 1 } });
  });

  it("MFA-07: an admin reset ends the user's sessions and mails them a notice; an admin cannot reset their own factors", async () => {
    const admin = await signUp(t, { admin: true });
    const user = await signUp(t);
    await enrolTotp(t, user);
    const reset = (id: string) => t.app.inject({ method: 'DELETE', url: `/users/${id}/mfa`, headers: admin.auth });
    await enrolTotp(t, admin);
    const own = await reset(admin.id);
    expect(own.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: admin.auth })).json().items).toHaveLength(1);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(200);
    expect((await reset(user.id)).statusCode).toBe(204);
    // Whoever held the account with the lost factor is signed out.
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(401);
    const notice = await lastMail(t, user.email, 'mfa_reset');
    expect(notice.subject).toMatch(/second factors/);
    expect(notice.text).toContain('/ui/forgot');
  });

  it('MFA-08, MFA-01: pending enrolments never hide a confirmed factor; one pending app a user; a pending one expires after 15 minutes', async () => {
    const user = await signUp(t);
    const app = await enrolTotp(t, user);
    // 101 abandoned pending rows older than the confirmed factor (the old query saw only the first 100 rows).
    const at = t.clock.now() - 60_000;
    for (let i = 0; i < 101; i++) {
      const [row] = (await t.storage.factors.listConfirmed(user.id)).map((f) => ({ ...f, id: `pending-${user.id}-${i}`, confirmed: false, createdAt: at + i }));
      await t.storage.factors.create(row!);
    }
    const res = await login(user);
    expect(res.json()).toMatchObject({ mfa_required: true });
    expect(res.json().access_token).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: '/auth/mfa', headers: user.auth })).json().items.map((f: { id: string }) => f.id)).toEqual([app.id]);

    // A new enrolment replaces every pending one; the started one is audited.
    const first = (await post('/auth/mfa/totp', {}, user.auth)).json();
    const second = (await post('/auth/mfa/totp', {}, user.auth)).json();
    expect(await t.storage.factors.findById(`pending-${user.id}-0`)).toBeNull();
    expect(await t.storage.factors.findById(first.id)).toBeNull();
    expect((await post(`/auth/mfa/totp/${first.id}/confirm`, { code: totpCode(first.secret, t.clock.now()) }, user.auth)).statusCode).toBe(404);
    const started = await t.services.audit.list({ limit: 5, userId: user.id, type: 'mfa.enrolment_started' });
    expect(started.items[0]?.details).toMatchObject({ factor_id: second.id, type: 'totp' });
    // Fifteen minutes on, the seed shown is no longer confirmed (a row started 16 minutes ago).
    const stale = { ...(await t.storage.factors.findById(second.id))!, id: `stale-${user.id}`, createdAt: t.clock.now() - 16 * MINUTE };
    await t.storage.factors.create({ ...stale, secretSealed: t.services.secrets.seal(second.secret, `totp:${stale.id}`) });
    expect((await post(`/auth/mfa/totp/${stale.id}/confirm`, { code: totpCode(second.secret, t.clock.now()) }, user.auth)).statusCode).toBe(404);
    expect((await post(`/auth/mfa/totp/${second.id}/confirm`, { code: totpCode(second.secret, t.clock.now()) }, user.auth)).statusCode).toBe(200);
  });

  it("MFA-02: wrong codes at /auth/reauthenticate spend the session's budget, not the owner's sign-in budget; each is audited", async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    nextStep();
    const wrong = totpCode(secret, t.clock.now(), 5);
    // A stolen access token guessing codes ...
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await post('/auth/reauthenticate', { code: wrong }, user.auth)).statusCode);
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    const failed = await t.services.audit.list({ limit: 10, userId: user.id, type: 'reauth.failed' });
    expect(failed.items).toHaveLength(5);
    expect(failed.items[0]?.details).toMatchObject({ method: 'totp' });
    // ... does not lock the owner out of signing in.
    const mfaToken = await firstStep(user);
    const ok = await post('/auth/mfa/verify', { mfa_token: mfaToken, code: totpCode(secret, t.clock.now()) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().access_token).toBeDefined();
  });

  it("MFA-04: /auth/mfa/verify finishes only the first-party client's steps; a refused or unknown mfa_token is audited", async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    const stored = (await t.storage.users.findById(user.id))!;
    const step = await t.services.mfa.complete(stored, { amr: ['pwd'] }, {}, { clientId: 'third-party-app', scope: '' });
    expect(step).toMatchObject({ mfaRequired: true });
    nextStep();
    const res = await post('/auth/mfa/verify', { mfa_token: (step as { mfaToken: string }).mfaToken, code: totpCode(secret, t.clock.now()) });
    expect(res.statusCode).toBe(401);
    expect(problemOf(res).code).toBe('ERR_MFA_TOKEN_INVALID');
    expect((await post('/auth/mfa/verify', { mfa_token: 'not-a-token', code: '123456' })).statusCode).toBe(401);
    const refused = await t.services.audit.list({ limit: 5, userId: user.id, type: 'mfa.token_refused' });
    expect(refused.items[0]?.details).toMatchObject({ reason: 'client' });
    // The code was not spent: the first-party step still takes it.
    const ok = await post('/auth/mfa/verify', { mfa_token: await firstStep(user), code: totpCode(secret, t.clock.now()) });
    expect(ok.statusCode).toBe(200);
  });

  it('MFA_REQUIRED=admins: an admin without a factor gets a session good only for enrolling one; enrolling frees it', async () => {
    const strict = await buildTestApp({ MFA_REQUIRED: 'admins' });
    try {
      const admin = await signUp(strict, { admin: true });
      expect(claimsOf(admin.accessToken)).toMatchObject({ acr: 'enrol', amr: ['pwd'] });
      const refused = await strict.app.inject({ method: 'GET', url: '/users', headers: admin.auth });
      expect(refused.statusCode).toBe(403);
      expect(problemOf(refused).code).toBe('ERR_MFA_ENROLMENT_REQUIRED');
      expect((await strict.app.inject({ method: 'GET', url: '/auth/me', headers: admin.auth })).statusCode).toBe(200);
      // Users who are not admins are not held.
      const user = await signUp(strict);
      expect((await strict.app.inject({ method: 'GET', url: '/users', headers: user.auth })).statusCode).toBe(200);

      await enrolTotp(strict, admin);
      // The same access token now works: the session itself was upgraded.
      expect((await strict.app.inject({ method: 'GET', url: '/users', headers: admin.auth })).statusCode).toBe(200);
      const next = await strict.app.inject({ method: 'POST', url: '/auth/login', payload: { login: admin.username, password: PASSWORD } });
      expect(next.json()).toMatchObject({ mfa_required: true });
    } finally {
      await strict.close();
    }
  });

  it('only an id names a factor: DELETE on the other /auth/mfa paths is no route, and the document says /auth/mfa/{id}', async () => {
    for (const url of ['/auth/mfa/totp', '/auth/mfa/verify', '/auth/mfa/recovery-codes']) expect((await t.app.inject({ method: 'DELETE', url })).statusCode, url).toBe(404);
    for (const url of ['/auth/mfa/00000000-0000-7000-8000-000000000000', '/auth/mfa/not-an-id']) expect((await t.app.inject({ method: 'DELETE', url })).statusCode, url).toBe(401);
    const paths = Object.keys((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths);
    expect(paths).toContain('/auth/mfa/{id}');
  });

  it('MFA-05: with a second factor, the password alone does not reauthenticate', async () => {
    const user = await signUp(t);
    const { secret } = await enrolTotp(t, user);
    const res = await post('/auth/reauthenticate', { password: PASSWORD }, user.auth);
    expect(res.statusCode).toBe(400);
    expect(problemOf(res).errors?.[0]?.field).toBe('password');
    t.clock.advance(MINUTE);
    const withCode = await post('/auth/reauthenticate', { code: totpCode(secret, t.clock.now()) }, user.auth);
    expect(withCode.statusCode).toBe(200);
    expect(claimsOf(withCode.json().access_token)).toMatchObject({ amr: ['otp'], auth_time: Math.floor(t.clock.now() / 1000) });
  });
});
