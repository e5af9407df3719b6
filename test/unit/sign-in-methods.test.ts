import { describe, expect, it } from 'vitest';
import { LastSignInMethodError } from '../../src/core/errors.js';
import type { User } from '../../src/core/model.js';
import { NO_PASSWORD, SignInMethods, hasPassword } from '../../src/core/auth/sign-in-methods.js';

const user = (passwordHash: string): User => ({
  id: 'u1',
  username: 'u1',
  email: 'u1@example.com',
  name: null,
  role: 'user',
  disabled: false,
  emailVerified: true,
  passwordHash,
  createdAt: 0,
  updatedAt: 0,
});

describe('the ways a user can sign in (MFA-07)', () => {
  it('MFA-07: counts the password and whatever other areas register; the last one cannot be removed', async () => {
    const methods = new SignInMethods();
    const withPassword = user('$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA');
    expect(await methods.count(withPassword)).toBe(1);
    await expect(methods.assertMayRemove(withPassword, (m) => m.kind === 'password')).rejects.toBeInstanceOf(LastSignInMethodError);

    const passkeys = new Map([['u1', ['pk1', 'pk2']]]);
    methods.add(async (u) => (passkeys.get(u.id) ?? []).map((id) => ({ kind: 'passkey', id })));
    const noPassword = user(NO_PASSWORD);
    expect(hasPassword(noPassword)).toBe(false);
    expect(await methods.list(noPassword)).toEqual([
      { kind: 'passkey', id: 'pk1' },
      { kind: 'passkey', id: 'pk2' },
    ]);
    await methods.assertMayRemove(noPassword, (m) => m.id === 'pk1');
    passkeys.set('u1', ['pk2']);
    await expect(methods.assertMayRemove(noPassword, (m) => m.id === 'pk2')).rejects.toBeInstanceOf(LastSignInMethodError);
    await methods.assertMayRemove(withPassword, (m) => m.id === 'pk2');
  });
});
