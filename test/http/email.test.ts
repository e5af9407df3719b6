import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/core/users/user-service.js';
import { CODE_MAX_ATTEMPTS } from '../../src/core/email/email-service.js';
import { buildTestApp, PASSWORD, problemOf, signUp, type TestApp } from '../helpers/app.js';
import { lastMail, queued, tokenIn } from '../helpers/mail.js';
import { backends } from '../helpers/storage.js';

const post = (t: TestApp, url: string, payload?: object, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url, payload, headers });

function expectInvalid(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.statusCode, res.body).toBe(400);
  expect(problemOf(res as never).code).toBe('ERR_TOKEN_INVALID');
}

describe('email verification (development outbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('EMAIL-01: sign-up queues exactly one verification message; its link verifies once; email_verified shows on the user and in the token response', async () => {
    const alice = await signUp(t);
    const mails = await queued(t, { to: alice.email });
    expect(mails.map((m) => m.kind)).toEqual(['verify_email']);
    const [mail] = mails;
    expect(mail!.subject).toContain('Confirm your email address');
    expect(mail!.html).toContain('<a href="http://gatehouse.test/ui/verify#token=');
    expect(mail!.text).toContain('http://gatehouse.test/ui/verify#token=');
    const token = tokenIn(mail!.text);
    // Hashed at rest: the stored row does not hold the link's secret.
    const row = await t.storage.emailTokens.findById(token.split('.')[0]!);
    expect(row?.secretHash).not.toContain(token.split('.')[1]);

    const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth });
    expect(me.json().email_verified).toBe(false);
    const ok = await post(t, '/auth/email/verify', { token });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ id: alice.id, email_verified: true });
    expectInvalid(await post(t, '/auth/email/verify', { token }));
    const login = await post(t, '/auth/login', { login: alice.username, password: PASSWORD });
    expect(login.json().user.email_verified).toBe(true);
  });

  it('EMAIL-01: unknown, malformed and expired tokens get the same answer; a token of one purpose does not serve another', async () => {
    const bob = await signUp(t);
    const token = tokenIn((await lastMail(t, bob.email, 'verify_email')).text);
    const answers = new Set<string>();
    // The last character changed for certain (replacing it with a fixed one would leave it as it was one time in 64).
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of ['x', tampered, 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await post(t, '/auth/email/verify', { token: bad });
      expectInvalid(res);
      answers.add(res.body);
    }
    // A verification token is no reset token.
    const reset = await post(t, '/auth/password/reset', { token, new_password: 'another long password' });
    expectInvalid(reset);
    answers.add(reset.body);
    t.clock.advance(t.config.mail.tokenTtlMs + 1);
    const expired = await post(t, '/auth/email/verify', { token });
    expectInvalid(expired);
    answers.add(expired.body);
    expect(answers.size).toBe(1);
  });

  it('EMAIL-01: a link dies when the password it was issued under changes', async () => {
    const carol = await signUp(t);
    const token = tokenIn((await lastMail(t, carol.email, 'verify_email')).text);
    const change = await post(t, '/auth/password', { current_password: PASSWORD, new_password: `${PASSWORD} 2` }, carol.auth);
    expect(change.statusCode).toBe(204);
    expectInvalid(await post(t, '/auth/email/verify', { token }));
    // EMAIL-04: the change was announced to the address.
    expect((await queued(t, { to: carol.email, kind: 'password_changed' })).length).toBe(1);
  });

  it('EMAIL-01: a new link replaces the previous one; /auth/email/verify/send answers 202', async () => {
    const dave = await signUp(t);
    const first = tokenIn((await lastMail(t, dave.email, 'verify_email')).text);
    const res = await post(t, '/auth/email/verify/send', undefined, dave.auth);
    expect(res.statusCode).toBe(202);
    const second = tokenIn((await lastMail(t, dave.email, 'verify_email')).text);
    expect(second).not.toBe(first);
    expectInvalid(await post(t, '/auth/email/verify', { token: first }));
    expect((await post(t, '/auth/email/verify', { token: second })).statusCode).toBe(200);
  });

  it("an admin setting someone's address makes it unverified", async () => {
    const erin = await signUp(t);
    await post(t, '/auth/email/verify', { token: tokenIn((await lastMail(t, erin.email, 'verify_email')).text) });
    const updated = await t.services.users.update(OPERATOR, erin.id, { email: `${erin.username}.x@example.com` });
    expect(updated.emailVerified).toBe(false);
  });
});

describe('password recovery (EMAIL-04)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('EMAIL-04: reset works once, ends every session (the old refresh and access tokens are refused), sends the notice', async () => {
    const alice = await signUp(t);
    const forgot = await post(t, '/auth/password/forgot', { email: alice.email.toUpperCase() });
    expect(forgot.statusCode).toBe(202);
    const token = tokenIn((await lastMail(t, alice.email, 'reset_password')).text);
    // A weak password is refused and the token stays usable.
    const weak = await post(t, '/auth/password/reset', { token, new_password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(problemOf(weak).code).toBe('ERR_VALIDATION');
    const reset = await post(t, '/auth/password/reset', { token, new_password: 'a brand new passphrase' });
    expect(reset.statusCode, reset.body).toBe(204);
    expectInvalid(await post(t, '/auth/password/reset', { token, new_password: 'yet another passphrase' }));

    expect((await post(t, '/auth/refresh', { refresh_token: alice.refreshToken })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth })).statusCode).toBe(401);
    expect((await post(t, '/auth/login', { login: alice.username, password: PASSWORD })).statusCode).toBe(401);
    const login = await post(t, '/auth/login', { login: alice.username, password: 'a brand new passphrase' });
    expect(login.statusCode).toBe(200);
    // Following the link proved the address.
    expect(login.json().user.email_verified).toBe(true);
    expect((await queued(t, { to: alice.email, kind: 'password_changed' })).length).toBe(1);
    const audit = await t.services.audit.list({ limit: 20, userId: alice.id, type: 'password.reset' });
    expect(audit.items).toHaveLength(1);
  });

  it('EMAIL-02: an unknown address gets the same answer and no mail', async () => {
    const before = (await queued(t)).length;
    const unknown = await post(t, '/auth/password/forgot', { email: 'nobody-here@example.com' });
    const bob = await signUp(t);
    const afterSignUp = (await queued(t)).length;
    const known = await post(t, '/auth/password/forgot', { email: bob.email });
    expect(unknown.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    expect(afterSignUp).toBe(before + 1); // bob's verification only
    expect((await queued(t)).length).toBe(afterSignUp + 1);
    expect(await queued(t, { to: 'nobody-here@example.com' })).toEqual([]);
  });

  it('a malformed address is a 400 with a field error, nothing queued', async () => {
    const before = (await queued(t)).length;
    const res = await post(t, '/auth/password/forgot', { email: 'not an address' });
    expect(res.statusCode).toBe(400);
    expect((await queued(t)).length).toBe(before);
  });
});

describe('change of address (EMAIL-04)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('EMAIL-04: 202 pending; a link to the new address, a notice to the old; the change applies on confirmation, once', async () => {
    const alice = await signUp(t);
    const next = `${alice.username}.new@example.com`;
    const res = await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: alice.auth, payload: { email: next.toUpperCase(), name: 'Alice' } });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ pending_email: next });
    // Not yet changed; the name is.
    const me = (await t.app.inject({ method: 'GET', url: '/auth/me', headers: alice.auth })).json();
    expect(me).toMatchObject({ email: alice.email, name: 'Alice' });
    const notice = await lastMail(t, alice.email, 'email_change_notice');
    expect(notice.text).toContain(next);
    expect(notice.text).not.toMatch(/#change=/);
    const token = tokenIn((await lastMail(t, next, 'change_email')).text, 'change');
    const confirmed = await post(t, '/auth/email/change/confirm', { token });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ email: next, email_verified: true });
    expectInvalid(await post(t, '/auth/email/change/confirm', { token }));
    expect((await post(t, '/auth/login', { email: next, password: PASSWORD })).statusCode).toBe(200);
  });

  it('a confirmation loses to someone who took the address meanwhile: 409, nothing changes', async () => {
    const alice = await signUp(t);
    const next = `${alice.username}.taken@example.com`;
    await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: alice.auth, payload: { email: next } });
    const token = tokenIn((await lastMail(t, next, 'change_email')).text, 'change');
    await t.services.users.create({ username: `${alice.username}x`, email: next, password: PASSWORD });
    const res = await post(t, '/auth/email/change/confirm', { token });
    expect(res.statusCode).toBe(409);
    expect((await t.services.users.get(alice.id)).email).toBe(alice.email);
  });

  it('PATCH /users/:id on oneself takes the same path', async () => {
    const bob = await signUp(t);
    const res = await t.app.inject({ method: 'PATCH', url: `/users/${bob.id}`, headers: bob.auth, payload: { email: `${bob.username}.2@example.com` } });
    expect(res.statusCode).toBe(202);
    expect((await t.services.users.get(bob.id)).email).toBe(bob.email);
  });
});

describe('EMAIL_VERIFICATION=required', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ EMAIL_VERIFICATION: 'required' });
  });
  afterAll(() => t.close());

  it('login answers 403 ERR_EMAIL_UNVERIFIED only after a correct password; 200 once verified', async () => {
    const username = 'req_user';
    const email = 'req_user@example.com';
    expect((await post(t, '/auth/register', { username, email, password: PASSWORD })).statusCode).toBe(201);
    const wrong = await post(t, '/auth/login', { login: username, password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    const right = await post(t, '/auth/login', { login: username, password: PASSWORD });
    expect(right.statusCode).toBe(403);
    expect(problemOf(right).code).toBe('ERR_EMAIL_UNVERIFIED');
    // The password grant says the same in RFC 6749's words.
    const grant = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: `grant_type=password&username=${username}&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(grant.statusCode).toBe(400);
    expect(grant.json()).toMatchObject({ error: 'invalid_grant' });
    await post(t, '/auth/email/verify', { token: tokenIn((await lastMail(t, email, 'verify_email')).text) });
    expect((await post(t, '/auth/login', { login: username, password: PASSWORD })).statusCode).toBe(200);
  });
});

describe('EMAIL_VERIFICATION=off', () => {
  it('no verification mail, and an own change of address applies at once', async () => {
    const t = await buildTestApp({ EMAIL_VERIFICATION: 'off' });
    try {
      const alice = await signUp(t);
      expect(await queued(t)).toEqual([]);
      const res = await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: alice.auth, payload: { email: `${alice.username}.b@example.com` } });
      expect(res.statusCode).toBe(200);
      expect(res.json().email).toBe(`${alice.username}.b@example.com`);
    } finally {
      await t.close();
    }
  });
});

describe('sign-in by email', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ EMAIL_SIGN_IN: 'on' });
  });
  afterAll(() => t.close());

  const codeIn = (text: string) => /code is (\d{6})/.exec(text)![1]!;

  it('a code signs in once (amr otp); the link signs in once (amr email); an unknown address gets the same 202 and no mail', async () => {
    const alice = await signUp(t);
    const unknown = await post(t, '/auth/email/sign-in', { email: 'ghost@example.com' });
    const known = await post(t, '/auth/email/sign-in', { email: alice.email });
    expect(known.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    const mail = await lastMail(t, alice.email, 'sign_in');
    expect(await queued(t, { to: 'ghost@example.com' })).toEqual([]);
    const code = codeIn(mail.text);
    const res = await post(t, '/auth/email/sign-in/verify', { email: alice.email, code });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'Bearer', amr: ['otp'], user: { id: alice.id, email_verified: true } });
    expect(res.headers['cache-control']).toBe('no-store');
    expectInvalid(await post(t, '/auth/email/sign-in/verify', { email: alice.email, code }));

    await post(t, '/auth/email/sign-in', { email: alice.email });
    const token = tokenIn((await lastMail(t, alice.email, 'sign_in')).text, 'sign-in');
    const byLink = await post(t, '/auth/email/sign-in/verify', { token });
    expect(byLink.statusCode).toBe(200);
    expect(byLink.json().amr).toEqual(['email']);
    expectInvalid(await post(t, '/auth/email/sign-in/verify', { token }));
  });

  it('a code expires after 10 minutes', async () => {
    const bob = await signUp(t);
    await post(t, '/auth/email/sign-in', { email: bob.email });
    const code = codeIn((await lastMail(t, bob.email, 'sign_in')).text);
    t.clock.advance(10 * 60_000 + 1);
    expectInvalid(await post(t, '/auth/email/sign-in/verify', { email: bob.email, code }));
  });

  it('is 404 when EMAIL_SIGN_IN=off', async () => {
    const off = await buildTestApp();
    try {
      expect((await post(off, '/auth/email/sign-in', { email: 'a@example.com' })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe.each(backends())('EMAIL-07 on $name: a code takes 5 tries in all', (backend) => {
  let t: TestApp;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    const opened = await backend.open();
    dispose = opened.dispose;
    t = await buildTestApp({ EMAIL_SIGN_IN: 'on' }, { storage: opened.storage });
  });
  afterAll(async () => {
    await t.app.close();
    await dispose();
  });
  afterEach(() => t.services.email.idle());

  it('EMAIL-07: 50 concurrent wrong codes cannot pass the 5-try budget; the right code is then refused too', async () => {
    const alice = await signUp(t);
    await post(t, '/auth/email/sign-in', { email: alice.email });
    const mail = await lastMail(t, alice.email, 'sign_in');
    const code = /code is (\d{6})/.exec(mail.text)![1]!;
    const wrong = (i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(t, '/auth/email/sign-in/verify', { email: alice.email, code: wrong(i) })));
    expect(answers.every((r) => r.statusCode === 400)).toBe(true);
    const token = await t.storage.emailTokens.findById(tokenIn(mail.text, 'sign-in').split('.')[0]!);
    expect(token?.attempts).toBe(CODE_MAX_ATTEMPTS);
    expectInvalid(await post(t, '/auth/email/sign-in/verify', { email: alice.email, code }));
  });

  it('EMAIL-07: among 50 concurrent tries with the right one last, at most one succeeds and only within the first 5 tries taken', async () => {
    const bob = await signUp(t);
    await post(t, '/auth/email/sign-in', { email: bob.email });
    const code = /code is (\d{6})/.exec((await lastMail(t, bob.email, 'sign_in')).text)![1]!;
    const tries = Array.from({ length: 49 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    tries.push(code);
    const answers = await Promise.all(tries.map((c) => post(t, '/auth/email/sign-in/verify', { email: bob.email, code: c })));
    expect(answers.filter((r) => r.statusCode === 200).length).toBeLessThanOrEqual(1);
  });
});

describe('EMAIL-03: budgets before any SMTP transaction', () => {
  it('EMAIL-03: past 5 messages an hour to one address, 429 and nothing more is queued; the same for an unknown address', async () => {
    const t = await buildTestApp({ RATE_LIMIT: 'on' });
    try {
      const alice = await signUp(t);
      const answers: number[] = [];
      for (let i = 0; i < 7; i++)
        answers.push((await t.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: alice.email }, remoteAddress: `198.51.100.${i + 1}` })).statusCode);
      expect(answers).toEqual([202, 202, 202, 202, 202, 429, 429]);
      expect(await queued(t, { to: alice.email, kind: 'reset_password' })).toHaveLength(5);
      const unknown: number[] = [];
      for (let i = 0; i < 7; i++)
        unknown.push(
          (await t.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'nobody@example.com' }, remoteAddress: `198.51.100.${i + 20}` })).statusCode,
        );
      expect(unknown).toEqual(answers);
    } finally {
      await t.close();
    }
  });

  it('EMAIL-03: past 10 requests an hour from one client, 429 whatever the address', async () => {
    const t = await buildTestApp({ RATE_LIMIT: 'on' });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 12; i++)
        codes.push(
          (await t.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: `someone${i}@example.com` }, remoteAddress: '198.51.100.99' })).statusCode,
        );
      expect(codes.slice(0, 10).every((c) => c === 202)).toBe(true);
      const refused = await t.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'other@example.com' }, remoteAddress: '198.51.100.99' });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });
});
