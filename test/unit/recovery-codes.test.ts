import { describe, expect, it } from 'vitest';
import { hashRecoveryCode, newRecoveryCodes } from '../../src/core/mfa/recovery-codes.js';

describe('recovery code hashes', () => {
  const key = Buffer.alloc(32, 7);
  it('MFA-03: the stored hash is keyed and bound to the user; the canonical form is what counts', () => {
    const [code] = newRecoveryCodes();
    const hash = hashRecoveryCode(key, 'user-a', code!);
    expect(hashRecoveryCode(key, 'user-a', code!.toLowerCase().replace(/-/g, ' '))).toBe(hash);
    // One guess tests one user's codes: the same code of another user hashes differently.
    expect(hashRecoveryCode(key, 'user-b', code!)).not.toBe(hash);
    // Without the server key, nothing to search offline.
    expect(hashRecoveryCode(Buffer.alloc(32, 8), 'user-a', code!)).not.toBe(hash);
  });
});
