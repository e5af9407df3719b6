import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWASP_ARGON2ID, PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { loadCommonPasswords } from '../../src/core/auth/password-policy.js';
import type { Storage } from '../../src/core/ports.js';
import { CHEAP_ARGON2, PASSWORD, buildTestApp, problemOf, signUp, type TestApp } from '../helpers/app.js';

describe('password storage and policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('PWD-03: ships at least 10,000 common passwords and refuses them, whatever their case', async () => {
    const common = loadCommonPasswords();
    expect(common.size).toBeGreaterThanOrEqual(10_000);
    for (const [i, password] of ['password', 'PassWord', 'BASEBALL', '12345678', 'Football'].entries()) {
      expect(common.has(password.toLowerCase()), password).toBe(true);
      const res = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username: `common${i}`, email: `common${i}@example.com`, password } });
      expect(res.statusCode, password).toBe(400);
      expect(problemOf(res).errors?.[0]).toMatchObject({ field: 'password', message: expect.stringMatching(/common/) });
    }
    const user = await signUp(t);
    const change = await t.app.inject({ method: 'POST', url: '/auth/password', headers: user.auth, payload: { current_password: PASSWORD, new_password: 'baseball' } });
    expect(change.statusCode).toBe(400);
  });

  it('PWD-03: refuses a password equal to the username or email', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'samesame', email: 'same@example.com', password: 'SameSame' } });
    expect(res.statusCode).toBe(400);
    const byEmail = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'other1', email: 'other1@example.com', password: 'other1@example.com' } });
    expect(byEmail.statusCode).toBe(400);
  });

  it('PWD-05: production hashes are Argon2id with OWASP parameters encoded in the hash', async () => {
    const hasher = new PasswordHasher(OWASP_ARGON2ID);
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery stapl')).toBe(false);
    expect(await hasher.verify('not a hash at all', 'x')).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(hasher.needsRehash(await new PasswordHasher(CHEAP_ARGON2).hash('x'))).toBe(true);
  });

  it('PWD-05: a login re-hashes a password stored with other parameters', async () => {
    // The account was created with cheap parameters; this app hashes at OWASP's.
    const strong = await buildTestApp({}, { storage: t.storage as Storage, argon2: OWASP_ARGON2ID });
    const user = await signUp(t);
    expect((await t.storage.users.findById(user.id))?.passwordHash).toMatch(/m=64,t=1,p=1/);
    const login = await strong.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: PASSWORD } });
    expect(login.statusCode).toBe(200);
    expect((await t.storage.users.findById(user.id))?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await strong.app.close(); // the storage is t's; t closes it
  });

  it('PWD-02/06: never stores the password, and a 1025-byte password cannot log in to anything', async () => {
    const user = await signUp(t);
    const stored = await t.storage.users.findById(user.id);
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    const long = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: user.username, password: `${PASSWORD}${'x'.repeat(1000)}` } });
    expect(long.statusCode).toBe(400);
  });
});

describe('AC-06: authorization fails closed', () => {
  it('a storage failure while checking the session is a 500, never a 200', async () => {
    const t = await buildTestApp();
    try {
      const user = await signUp(t);
      t.services.sessions.forgetUser(user.id);
      const original = t.storage.sessions.findWithUser.bind(t.storage.sessions);
      t.storage.sessions.findWithUser = async () => {
        throw new Error('database went away');
      };
      const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth });
      expect(res.statusCode).toBe(500);
      expect(problemOf(res)).toMatchObject({ code: 'ERR_INTERNAL', detail: 'Something went wrong on our side.' });
      expect(res.body).not.toContain('database went away');
      t.storage.sessions.findWithUser = original;
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
