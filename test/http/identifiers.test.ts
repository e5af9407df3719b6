import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, allUsers, buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

let seq = 0;
const email = () => `id${++seq}_${Math.random().toString(36).slice(2, 8)}@example.com`;

function post(t: TestApp, url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}
const register = (t: TestApp, body: Record<string, unknown>) => post(t, '/auth/register', { password: PASSWORD, ...body });
const login = (t: TestApp, name: string, password = PASSWORD) => post(t, '/auth/login', { login: name, password });
const patchMe = (t: TestApp, auth: { authorization: string }, body: Record<string, unknown>) =>
  t.app.inject({ method: 'PATCH', url: '/auth/me', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

function expectProblem(res: LightMyRequestResponse, status: number, code: string, field?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const problem = problemOf(res);
  expect(problem.code).toBe(code);
  if (field) expect(problem.errors?.map((e) => e.field)).toContain(field);
  return problem;
}

describe('identifiers over HTTP', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  describe('ID-02: Unicode case folding', () => {
    it('ID-02: xοδος and xοδοσ are one account; the capitalised spelling signs into it', async () => {
      const res = await register(t, { username: 'xοδος', email: email() });
      expect(res.statusCode, res.body).toBe(201);
      expectProblem(await register(t, { username: 'xοδοσ', email: email() }), 409, 'ERR_USER_CONFLICT', 'username');
      expectProblem(await register(t, { username: 'XΟΔΟΣ', email: email() }), 409, 'ERR_USER_CONFLICT', 'username');
      for (const spelling of ['XΟΔΟΣ', 'xοδοσ', 'Xοδος']) {
        const signedIn = await login(t, spelling);
        expect(signedIn.statusCode, spelling).toBe(200);
        expect(signedIn.json<{ user: { username: string } }>().user.username).toBe('xοδοσ');
      }
    });

    it('ID-02: ß and ss are one account (full folding)', async () => {
      expect((await register(t, { username: 'straße', email: email() })).statusCode).toBe(201);
      expectProblem(await register(t, { username: 'STRASSE', email: email() }), 409, 'ERR_USER_CONFLICT');
      expect((await login(t, 'Strasse')).statusCode).toBe(200);
    });

    it.each([
      ['Devanagari', 'अनिल1'],
      ['Tamil', 'தமிழ்1'],
      ['Bengali', 'অনিল১'],
      ['Turkish', 'İpek'],
      ['Hebrew', 'שלום1'],
    ])('ID-02: a %s username (%s) registers and signs in', async (_script, username) => {
      const res = await register(t, { username, email: email() });
      expect(res.statusCode, res.body).toBe(201);
      expect((await login(t, username)).statusCode).toBe(200);
    });

    it('ID-02: the email comparison key folds the local part and the domain', async () => {
      expect((await register(t, { username: 'sigma_mail', email: 'οδος@Example.Test' })).statusCode).toBe(201);
      expectProblem(await register(t, { username: 'sigma_mail2', email: 'ΟΔΟΣ@example.test' }), 409, 'ERR_USER_CONFLICT', 'email');
      expect((await login(t, 'ΟΔΟΣ@EXAMPLE.TEST.')).statusCode).toBe(200);
    });

    it('ID-02: an admin-created user and a rename follow the same folding', async () => {
      const created = await post(t, '/users', { username: 'ΣΟΦΙΑ', email: email(), password: PASSWORD }, admin.auth);
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json<{ username: string }>().username).toBe('σοφια');
      const user = await signUp(t);
      expectProblem(await patchMe(t, user.auth, { username: 'Σοφια' }), 409, 'ERR_USER_CONFLICT', 'username');
      const renamed = await patchMe(t, user.auth, { username: 'ΓΙΑΝΝΗΣ' });
      expect(renamed.statusCode, renamed.body).toBe(200);
      expect(renamed.json<{ username: string }>().username).toBe('γιαννησ');
      expect((await login(t, 'γιαννης')).statusCode).toBe(200);
    });
  });

  describe('ID-03: invisible and direction characters', () => {
    const invisible = ['\u200b', '\u200d', '\u2060', '\u00ad', '\u202e', '\ufeff', '\u2066', '\u200e'];

    it.each(invisible.map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]))(
      'ID-03: %s is refused in usernames, emails and display names on register, admin create and rename; nothing changes',
      async (_label, char) => {
        const before = (await allUsers(t)).length;
        expectProblem(await register(t, { username: `ba${char}se`, email: email() }), 400, 'ERR_VALIDATION', 'username');
        expectProblem(await register(t, { username: 'plain_name', email: `ba${char}se@example.test` }), 400, 'ERR_VALIDATION', 'email');
        expectProblem(await register(t, { username: 'plain_name', email: `base@exa${char}mple.test` }), 400, 'ERR_VALIDATION', 'email');
        expectProblem(await register(t, { username: 'plain_name', email: email(), name: `Ann${char}` }), 400, 'ERR_VALIDATION', 'name');
        expectProblem(await post(t, '/users', { username: `ba${char}se`, email: email(), password: PASSWORD }, admin.auth), 400, 'ERR_VALIDATION', 'username');
        expectProblem(await post(t, '/users', { username: 'plain_name', email: email(), password: PASSWORD, name: `${char}Ann` }, admin.auth), 400, 'ERR_VALIDATION', 'name');
        expect((await allUsers(t)).length).toBe(before);
        const user = await signUp(t);
        const stored = await t.services.users.get(user.id);
        expectProblem(await patchMe(t, user.auth, { username: `${user.username}${char}` }), 400, 'ERR_VALIDATION', 'username');
        expectProblem(await patchMe(t, user.auth, { name: `Ann ${char}Bob` }), 400, 'ERR_VALIDATION', 'name');
        expect(await t.services.users.get(user.id)).toEqual(stored);
      },
    );

    it('ID-03: display names keep emoji ZWJ sequences', async () => {
      const res = await register(t, { username: 'emoji_fan', email: email(), name: 'Ann 👩\u200d💻 ❤\ufe0f' });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<{ name: string }>().name).toBe('Ann 👩\u200d💻 ❤\ufe0f');
    });

    it('ID-03: base@example.test. is base@example.test', async () => {
      expect((await register(t, { username: 'dot_base', email: 'base@example.test' })).statusCode).toBe(201);
      expectProblem(await register(t, { username: 'dot_base2', email: 'base@example.test.' }), 409, 'ERR_USER_CONFLICT', 'email');
      expect((await login(t, 'base@example.test.')).statusCode).toBe(200);
      const user = await signUp(t);
      expectProblem(await patchMe(t, user.auth, { email: 'BASE@example.test.' }), 409, 'ERR_USER_CONFLICT', 'email');
    });
  });

  describe('ID-04: confusable usernames', () => {
    it('ID-04: аlex (Cyrillic а) beside alex is refused on register, admin create and rename', async () => {
      expect((await register(t, { username: 'alex', email: email() })).statusCode).toBe(201);
      const before = (await allUsers(t)).length;
      const lookalikes = ['\u0430lex', 'ALE\u0425', '\u0251lex'];
      for (const username of lookalikes) {
        const problem = expectProblem(await register(t, { username, email: email() }), 409, 'ERR_USER_CONFLICT', 'username');
        expect(problem.detail).toMatch(/looks like/);
        expectProblem(await post(t, '/users', { username, email: email(), password: PASSWORD }, admin.auth), 409, 'ERR_USER_CONFLICT', 'username');
      }
      expect((await allUsers(t)).length).toBe(before);
      const user = await signUp(t);
      expectProblem(await patchMe(t, user.auth, { username: '\u0430lex' }), 409, 'ERR_USER_CONFLICT', 'username');
      expect((await t.services.users.get(user.id)).username).toBe(user.username);
    });

    it('ID-04: a user may rename to a look-alike of their own name', async () => {
      const user = await signUp(t, { username: 'paypal_fan' });
      const res = await patchMe(t, user.auth, { username: 'paypa1_fan' });
      expect(res.statusCode, res.body).toBe(200);
    });

    it('ID-04: registering alex2 and аlex2 at once: exactly one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all([register(t, { username: `alex2x${round}`, email: email() }), register(t, { username: `\u0430lex2x${round}`, email: email() })]);
        expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      }
    });
  });

  describe('ID-05: well-formed Unicode', () => {
    it('ID-05: a password with a lone surrogate is refused (400), never stored as U+FFFD', async () => {
      const before = (await allUsers(t)).length;
      expectProblem(await register(t, { username: 'surrogate1', email: email(), password: 'pass\ud800word-long' }), 400, 'ERR_VALIDATION', 'password');
      expect((await allUsers(t)).length).toBe(before);
      // A user with U+FFFD in the password: another lone surrogate must not sign in as them.
      expect((await register(t, { username: 'replacement', email: email(), password: 'pass\ufffdword-long' })).statusCode).toBe(201);
      expectProblem(await login(t, 'replacement', 'pass\udfffword-long'), 400, 'ERR_VALIDATION', 'password');
    });

    it('ID-05: every string field of every body follows the same rule', async () => {
      const user = await signUp(t);
      expectProblem(await login(t, 'user\ud800'), 400, 'ERR_VALIDATION', 'login');
      expectProblem(await register(t, { username: 'surrogate2', email: email(), name: 'Ann \udc00' }), 400, 'ERR_VALIDATION', 'name');
      expectProblem(await patchMe(t, user.auth, { name: '\ud83d' }), 400, 'ERR_VALIDATION', 'name');
      expectProblem(
        await t.app.inject({
          method: 'POST',
          url: '/auth/password',
          headers: { ...user.auth, 'content-type': 'application/json' },
          payload: JSON.stringify({ current_password: PASSWORD, new_password: 'new\ud800password' }),
        }),
        400,
        'ERR_VALIDATION',
        'new_password',
      );
      expectProblem(await post(t, '/items', { name: 'thing\ud800', price_cents: 1 }, user.auth), 400, 'ERR_VALIDATION', 'name');
      // An unknown key with a lone surrogate is refused as well, before anything else is said about it.
      expectProblem(await register(t, { username: 'surrogate3', email: email(), ['\ud800']: 'x' }), 400, 'ERR_VALIDATION');
    });

    it('ID-05: a JSON body that is not valid UTF-8 is refused instead of decoded with U+FFFD', async () => {
      const body = Buffer.concat([Buffer.from('{"login":"someone","password":"pass'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('word-long"}')]);
      const res = await t.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: body });
      expectProblem(res, 400, 'ERR_VALIDATION');
      const stray = await t.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: Buffer.from([0x7b, 0xff, 0x7d]) });
      expectProblem(stray, 400, 'ERR_VALIDATION');
    });

    it('ID-05: a form body with a percent-encoded lone surrogate or a byte that is not UTF-8 is refused', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'login=someone&password=pass%ED%A0%80word-long',
      });
      expectProblem(res, 400, 'ERR_VALIDATION');
      const raw = Buffer.concat([Buffer.from('login=someone&password=pass'), Buffer.from([0xff]), Buffer.from('word-long')]);
      expectProblem(
        await t.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: raw }),
        400,
        'ERR_VALIDATION',
      );
      // The same form, well-formed, signs in: only the encoding was refused.
      const user = await signUp(t, { password: 'pass\u{1F600}word-long' });
      const ok = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `login=${encodeURIComponent(user.username)}&password=${encodeURIComponent('pass\u{1F600}word-long')}`,
      });
      expect(ok.statusCode, ok.body).toBe(200);
    });
  });
});
